using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using SmartApp.DevHost;
using SmartApp.DevHost.Emulators;
using SmartApp.DevHost.Worker;

DevHostOptions options;
try
{
    options = DevHostOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(DevHostOptions.Usage);
    return 2;
}

if (InheritedSignals.InterruptIgnored() && InheritedSignals.RunAgainWithDefaultSignals(args) is { } exitCode)
    return exitCode;

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders().AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning).AddFilter("Yarp", LogLevel.Warning);
builder.Services.AddSingleton(options);

if (options.Emulators != EmulatorMode.None)
{
    builder.Services.AddSingleton<EmulatorProcesses>();
    builder.Services.AddHostedService(sp => sp.GetRequiredService<EmulatorProcesses>());
}

if (options.Emulators == EmulatorMode.Only)
{
    // Only the emulators, on their well-known ports, until Ctrl+C (for 'func start').
    await builder.Build().RunAsync();
    return 0;
}

var endpoints = new DevHostEndpoints(options.HttpPort == 0 ? PortAllocator.FreePort() : PortAllocator.Reserve(options.HttpPort), PortAllocator.FreePort());
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(IPAddress.Loopback, endpoints.GrpcPort, o => o.Protocols = HttpProtocols.Http2);
    kestrel.Listen(IPAddress.Loopback, endpoints.HttpPort, o => o.Protocols = HttpProtocols.Http1);
    kestrel.Limits.MaxRequestBodySize = null; // set per request, as the Functions host does (gRPC streams have none)
});
builder.Services.AddSingleton(endpoints);
var hostSettings = HostSettings.Read(options.AppDirectory, options.SettingsFile);
builder.Services.AddSingleton(hostSettings);
builder.Services.AddSingleton<HostAnswers>();
// Room for the drain and the worker's terminate grace on shutdown.
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.Timings.Drain + options.Timings.TerminateGrace + TimeSpan.FromSeconds(10));
builder.Services.AddGrpc(o => { o.MaxReceiveMessageSize = null; o.MaxSendMessageSize = null; });
builder.Services.AddHttpForwarder();
builder.Services.AddCors();
builder.Services.AddSingleton<SmartApp.DevHost.Triggers.TriggerHost>();
builder.Services.AddSingleton<WorkerSupervisor>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkerSupervisor>());
builder.Services.AddSingleton<InvocationProxy>();
// Only loopback names: a web page that points its own domain at 127.0.0.1 (DNS rebinding) sends its own
// Host header, and is refused with 400 before it reaches the app (where demo mode signs in anyone).
builder.Services.AddHostFiltering(o =>
{
    o.AllowedHosts = ["127.0.0.1", "localhost", "[::1]"];
    o.AllowEmptyHosts = false;
});

// The Functions host records telemetry, so each request has an Activity: continued from the client's
// traceparent (recorded if the client's was) and passed on to the worker in its own traceparent.
using var requestActivities = new ActivityListener
{
    ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
    Sample = (ref ActivityCreationOptions<ActivityContext> creation) =>
        creation.Parent.TraceFlags.HasFlag(ActivityTraceFlags.Recorded)
            ? ActivitySamplingResult.AllDataAndRecorded
            : ActivitySamplingResult.AllData,
};
ActivitySource.AddActivityListener(requestActivities);

var app = builder.Build();
app.UseHostFiltering();
app.UseRouting(); // endpoints are chosen by the port the client reached, before the front end renames the host
app.UseWhen(context => context.Connection.LocalPort == endpoints.HttpPort, http => http.UseFunctionsHostPipeline(options, hostSettings));
app.MapGrpcService<FunctionRpcService>().RequireHost($"*:{endpoints.GrpcPort}");
app.Map("/{**path}", (HttpContext context, InvocationProxy proxy) => proxy.HandleAsync(context)).RequireHost($"*:{endpoints.HttpPort}");
await app.RunAsync();
return 0;

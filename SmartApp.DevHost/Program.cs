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

var endpoints = new DevHostEndpoints(options.HttpPort == 0 ? PortAllocator.FreePort() : options.HttpPort, PortAllocator.FreePort());
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(IPAddress.Loopback, endpoints.GrpcPort, o => o.Protocols = HttpProtocols.Http2);
    kestrel.Listen(IPAddress.Loopback, endpoints.HttpPort, o => o.Protocols = HttpProtocols.Http1);
    kestrel.Limits.MaxRequestBodySize = null; // set per request, as the Functions host does (gRPC streams have none)
});
builder.Services.AddSingleton(endpoints);
builder.Services.AddSingleton(HostSettings.Read(options.AppDirectory, options.SettingsFile));
builder.Services.AddGrpc(o => { o.MaxReceiveMessageSize = null; o.MaxSendMessageSize = null; });
builder.Services.AddHttpForwarder();
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

var app = builder.Build();
app.UseHostFiltering();
app.MapGrpcService<FunctionRpcService>().RequireHost($"*:{endpoints.GrpcPort}");
app.Map("/{**path}", (HttpContext context, InvocationProxy proxy) => proxy.HandleAsync(context)).RequireHost($"*:{endpoints.HttpPort}");
await app.RunAsync();
return 0;

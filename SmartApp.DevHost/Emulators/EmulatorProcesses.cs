using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using SmartApp.DevHost.Worker;

namespace SmartApp.DevHost.Emulators;

/// <summary>
/// Azurite and the Cosmos DB emulator as child processes on 127.0.0.1: installed with <c>npm ci</c>
/// when missing, started before the worker, stopped (by PID) when the dev host stops. They also exit
/// on their own if the dev host dies, because they watch the stdin pipe it holds.
/// </summary>
public sealed partial class EmulatorProcesses(DevHostOptions options, ILogger<EmulatorProcesses> logger, DevHostEndpoints? endpoints = null) : IHostedService
{
    /// <summary>Azurite's well-known development account (public, documented; not a secret).</summary>
    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>The Cosmos emulator's well-known key (any key is accepted by the local emulator).</summary>
    private const string CosmosEmulatorKey = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DXNAIxwmI2X3DtdyWkbRXwo3zfnG5tYMFwCnPoPaGPgHYQ==";

    private readonly List<Process> _processes = [];
    private string? _dataDirectory;

    public int BlobPort { get; private set; }
    public int QueuePort { get; private set; }
    public int TablePort { get; private set; }
    public int CosmosPort { get; private set; }

    public string StorageConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;" +
        $"TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;";

    public string CosmosEndpoint => $"https://127.0.0.1:{CosmosPort}/";

    /// <summary>The app settings that point a worker at these emulators; they override local.settings.json.</summary>
    public IReadOnlyDictionary<string, string> WorkerSettings => new Dictionary<string, string>
    {
        ["AzureWebJobsStorage"] = StorageConnectionString,
        ["Storage__ConnectionString"] = StorageConnectionString,
        ["Cosmos__AccountEndpoint"] = CosmosEndpoint,
        ["Cosmos__AccountKey"] = CosmosEmulatorKey,
    };

    private string EmulatorDirectory => Path.Combine(options.RepositoryRoot, "emulators");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        await EnsureInstalledAsync(cancellationToken);
        var fixedPorts = options.Emulators == EmulatorMode.Only;
        for (var attempt = 1; ; attempt++)
        {
            (BlobPort, QueuePort, TablePort, CosmosPort) = fixedPorts
                ? (10000, 10001, 10002, 8081)
                : (PortAllocator.FreePort(), PortAllocator.FreePort(), PortAllocator.FreePort(), PortAllocator.FreePort());
            foreach (var port in new[] { BlobPort, QueuePort, TablePort, CosmosPort })
                if (fixedPorts && !PortAllocator.IsFree(port))
                    throw new InvalidOperationException($"Port {port} is in use; stop whatever holds it (another emulator?) and try again.");
            try
            {
                await StartProcessesAsync(cancellationToken);
                break;
            }
            catch (InvalidOperationException ex) when (!fixedPorts && attempt < 3)
            {
                // A port that was free when picked can be taken before the emulator binds it (any
                // outgoing connection may draw it): start again on new ports.
                LogRetrying(logger, ex.Message, attempt);
                await StopAsync(cancellationToken);
            }
        }
        await AllowBrowserOriginsAsync(cancellationToken);
        LogStarted(logger, BlobPort, CosmosPort, (long)started.Elapsed.TotalMilliseconds);
        if (options.Emulators == EmulatorMode.Only && options.ReadyFile is { } readyFile)
            await ReadyFile.WriteAsync(readyFile, WorkerSettings);
    }

    /// <summary>
    /// The blob service's CORS, as infra/app/storage.bicep sets Azure's: the web origins local.settings.json allows
    /// (<c>Host.CORS</c>) and the app's own origin (its console) may PUT direct uploads to, and GET downloads from,
    /// signed blob URLs. Any other origin's preflight to Azurite fails as it would in Azure.
    /// </summary>
    private async Task AllowBrowserOriginsAsync(CancellationToken cancellationToken)
    {
        // The app's own origin: this host's, or Core Tools' default port when only the emulators run.
        var port = endpoints?.HttpPort ?? 7071;
        var configured = AppSettings.Cors(options.SettingsFile).Origins ?? [];
        string[] origins = configured.Contains("*") ? ["*"] : [.. configured, $"http://127.0.0.1:{port}", $"http://localhost:{port}"];
        var service = new BlobServiceClient(StorageConnectionString);
        // Read, change, write: the service refuses properties sent without their logging and metrics parts.
        BlobServiceProperties properties = await service.GetPropertiesAsync(cancellationToken);
        properties.Cors =
        [
            new BlobCorsRule
            {
                AllowedOrigins = string.Join(',', origins),
                AllowedMethods = "GET,HEAD,PUT,OPTIONS",
                AllowedHeaders = "*",
                ExposedHeaders = "ETag,Content-Length,Content-Type,x-ms-request-id",
                MaxAgeInSeconds = 3600,
            },
        ];
        await service.SetPropertiesAsync(properties, cancellationToken);
        LogBlobCors(logger, string.Join(", ", origins));
    }

    private async Task StartProcessesAsync(CancellationToken cancellationToken)
    {
        _dataDirectory = Directory.CreateTempSubdirectory("smartapp-emulators-").FullName;
        var (certificate, key) = EnsureCertificate();
        var azurite = Start("azurite", "azurite.js",
            "--blobHost", "127.0.0.1", "--blobPort", $"{BlobPort}", "--queueHost", "127.0.0.1", "--queuePort", $"{QueuePort}",
            "--tableHost", "127.0.0.1", "--tablePort", $"{TablePort}", "--location", _dataDirectory,
            "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--silent");
        var cosmos = Start("cosmos", "cosmos-shim.js",
            Path.Combine(EmulatorDirectory, "node_modules", "@vercel", "cosmosdb-server"), $"{CosmosPort}", certificate, key);

        await WaitForPortsAsync(azurite, [BlobPort, QueuePort, TablePort], cancellationToken);
        await WaitForPortsAsync(cosmos, [CosmosPort], cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var process in _processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5000);
                }
                LogStopped(logger, process.Id);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            process.Dispose();
        }
        _processes.Clear();
        if (_dataDirectory is not null)
        {
            try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return Task.CompletedTask;
    }

    private async Task EnsureInstalledAsync(CancellationToken cancellationToken)
    {
        var modules = Path.Combine(EmulatorDirectory, "node_modules");
        var stamp = Path.Combine(modules, ".package-lock.json");
        var lockFile = Path.Combine(EmulatorDirectory, "package-lock.json");
        if (!File.Exists(lockFile))
            throw new InvalidOperationException($"No emulator tooling at {EmulatorDirectory}.");
        if (File.Exists(stamp) && File.GetLastWriteTimeUtc(stamp) >= File.GetLastWriteTimeUtc(lockFile)
            && Directory.Exists(Path.Combine(modules, "azurite")) && Directory.Exists(Path.Combine(modules, "@vercel", "cosmosdb-server")))
            return;

        LogInstalling(logger, EmulatorDirectory);
        var npm = new ProcessStartInfo("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        {
            WorkingDirectory = EmulatorDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(npm) ?? throw new InvalidOperationException("Could not start npm; install Node.js 20 or later.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"npm ci failed in {EmulatorDirectory} ({process.ExitCode}): {await errors}{await output}");
    }

    /// <summary>The Cosmos emulator's TLS certificate: self-signed for localhost/127.0.0.1, made on first use.</summary>
    private (string Certificate, string Key) EnsureCertificate()
    {
        var directory = Path.Combine(EmulatorDirectory, ".certs");
        var certificatePath = Path.Combine(directory, "cosmos-cert.pem");
        var keyPath = Path.Combine(directory, "cosmos-key.pem");
        if (File.Exists(certificatePath) && File.Exists(keyPath)) return (certificatePath, keyPath);

        Directory.CreateDirectory(directory);
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(10));
        File.WriteAllText(keyPath, rsa.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        return (certificatePath, keyPath);
    }

    private Process Start(string name, string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = EmulatorDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["EXIT_WHEN_STDIN_CLOSES"] = "1" },
        };
        start.ArgumentList.Add(Path.Combine(EmulatorDirectory, script));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {name}; install Node.js 20 or later.");
        process.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) LogOutput(logger, name, line); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) LogOutput(logger, name, line); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
        LogProcessStarted(logger, name, process.Id);
        return process;
    }

    private static async Task WaitForPortsAsync(Process process, int[] ports, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
                throw new InvalidOperationException($"An emulator (pid {process.Id}) exited with code {process.ExitCode} while starting; see its output above.");
            var listening = true;
            foreach (var port in ports)
                listening &= await PortAllocator.IsListeningAsync(port, cancellationToken);
            if (listening) return;
            await Task.Delay(50, cancellationToken);
        }
        throw new TimeoutException($"The emulator did not open ports {string.Join(", ", ports)} within 60 s.");
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Installing the emulators with npm ci in {Directory} (first run only)")]
    private static partial void LogInstalling(ILogger logger, string directory);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Started {Name} (pid {Pid})")]
    private static partial void LogProcessStarted(ILogger logger, string name, int pid);

    [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "Azurite blob CORS allows {Origins}")]
    private static partial void LogBlobCors(ILogger logger, string origins);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Emulators ready in {Milliseconds} ms: Azurite blob on 127.0.0.1:{BlobPort}, Cosmos on https://127.0.0.1:{CosmosPort}/")]
    private static partial void LogStarted(ILogger logger, int blobPort, int cosmosPort, long milliseconds);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Stopped emulator pid {Pid}")]
    private static partial void LogStopped(ILogger logger, int pid);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "[{Name}] {Line}")]
    private static partial void LogOutput(ILogger logger, string name, string line);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "The emulators did not start ({Reason}); attempt {Attempt} of 3, trying again on new ports")]
    private static partial void LogRetrying(ILogger logger, string reason, int attempt);
}

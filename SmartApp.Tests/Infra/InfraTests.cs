using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Tests.Infra;

/// <summary>infra/ compiles and lints clean, and provisions what the code expects: its containers and its settings.</summary>
public sealed class InfraTests
{
    private static string Metadata(string key) =>
        typeof(InfraTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    private static readonly string Root = Metadata("RepositoryRoot");
    private static readonly Lazy<(int ExitCode, string Output)> Build = new(() => RunBicep("build", "infra/main.bicep", "--stdout"));

    // Settings the app reads locally that Azure provides another way, and why.
    public static readonly Dictionary<string, string> LocalOnly = new()
    {
        ["Cosmos__AccountKey"] = "Azure uses the managed identity (local auth is off)",
        ["Storage__ConnectionString"] = "Azure uses Storage__BlobServiceUri with the managed identity",
        ["Auth__AllowDemoOutsideDevelopment"] = "Azure runs in WorkOS mode",
        ["WorkOS__Issuers"] = "empty: derived from WorkOS__ApiBaseUrl and WorkOS__ClientId",
    };

    private static (int ExitCode, string Output) RunBicep(params string[] arguments)
    {
        var bicep = Metadata("BicepCli");
        if (!OperatingSystem.IsWindows()) // NuGet does not keep the execute bit
            File.SetUnixFileMode(bicep, File.GetUnixFileMode(bicep) | UnixFileMode.UserExecute);
        var start = new ProcessStartInfo(bicep) { WorkingDirectory = Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result + errors);
    }

    private static JsonNode Template()
    {
        var (exitCode, output) = Build.Value;
        Assert.True(exitCode == 0, output);
        return JsonNode.Parse(output)!;
    }

    /// <summary>The compiled template with the files azd and the workflow fill it from.</summary>
    public static DeploySources Sources() => DeploySources.Read(Template().AsObject(), Root);

    /// <summary>The app settings infra/app/function.bicep sets literally (all but the secrets).</summary>
    private static JsonObject AzureSettings() => Sources().Module("function")["variables"]!["settings"]!.AsObject();

    [Fact]
    public void Every_bicep_file_compiles_and_lints_with_no_errors_or_warnings()
    {
        var files = Directory.GetFiles(Path.Combine(Root, "infra"), "*.bicep", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var (buildExit, buildOutput) = RunBicep("build", file, "--stdout");
            Assert.True(buildExit == 0, $"{file}: {buildOutput}");
            var (lintExit, lintOutput) = RunBicep("lint", file);
            Assert.True(lintExit == 0 && lintOutput.Trim().Length == 0, $"{file}: {lintOutput}");
        }
    }

    [Fact]
    public void The_cosmos_containers_in_bicep_are_the_ones_the_code_creates()
    {
        var list = FindArray(Template(), "containers") ?? throw new Xunit.Sdk.XunitException("no containers variable in the compiled template");
        var inBicep = list.Select(c => (Name: (string)c!["name"]!, Key: (string)c["partitionKey"]!, Ttl: c["defaultTtl"] is JsonValue v ? v.GetValue<int>() : (int?)null))
            .OrderBy(c => c.Name).ToList();
        var inCode = CosmosContainers.All.Select(c => (c.Name, Key: c.PartitionKeyPath, Ttl: c.DefaultTimeToLiveSeconds)).OrderBy(c => c.Name).ToList();
        Assert.Equal(inCode, inBicep);
    }

    [Fact]
    public void The_queues_the_triggers_use_are_provisioned_with_the_role_to_use_them()
    {
        // Each work queue and its poison queue (the host moves a message there after maxDequeueCount).
        var list = FindNames(Template(), "workQueues") ?? throw new Xunit.Sdk.XunitException("no workQueues variable in the compiled template");
        var inBicep = list.Select(q => (string)q!).Order().ToList();
        var inCode = WorkQueues.All.SelectMany(q => new[] { q, q + WorkQueues.PoisonSuffix }).Order().ToList();
        Assert.Equal(inCode, inBicep);
        // The managed identity reads and writes queue messages (identity-based AzureWebJobsStorage and the app's own sends).
        const string QueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"; // Storage Queue Data Contributor
        var rbac = DeployChecks.Resources(Template()).Single(r => (string?)r["type"] == "Microsoft.Resources/deployments" && r.ToJsonString().Contains(QueueDataContributor, StringComparison.Ordinal));
        Assert.Contains(DeployChecks.Resources(rbac), r => (string?)r["type"] == "Microsoft.Authorization/roleAssignments"
            && r["properties"]?["roleDefinitionId"]?.ToJsonString().Contains("storageQueueDataContributor", StringComparison.Ordinal) == true);
        Assert.NotNull(AzureSettings()["Storage__QueueServiceUri"]);
    }

    [Fact]
    public void The_hosts_body_limit_in_azure_lets_the_largest_streamed_upload_through()
    {
        var settings = AzureSettings();
        var maxFile = long.Parse((string)settings["Files__MaxFileBytes"]!, System.Globalization.CultureInfo.InvariantCulture);
        var hostLimit = long.Parse((string)settings["FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(hostLimit >= maxFile + 64 * 1024, $"the host refuses bodies over {hostLimit} bytes; a {maxFile}-byte file in a multipart body needs {maxFile + 64 * 1024}");
    }

    [Fact]
    public void Every_setting_the_app_reads_is_in_the_sample_and_in_bicep()
    {
        var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "local.settings.sample.json"))).RootElement.GetProperty("Values")
            .EnumerateObject().Select(p => p.Name).ToHashSet();
        var read = SettingsTheAppReads().ToList();
        Assert.Contains(("Cosmos__AccountEndpoint", false), read);
        foreach (var (name, isArray) in read.Where(r => r.Name != "WorkOS__Issuers"))
            Assert.True(sample.Contains(name) || (isArray && sample.Any(k => k.StartsWith(name + "__", StringComparison.Ordinal))),
                $"{name} is read by the app but missing from local.settings.sample.json");
        Assert.Empty(DeployChecks.Settings(Sources(), read, LocalOnly));
    }

    /// <summary>Every deploy check over the real template and files: none finds a problem.</summary>
    public static IReadOnlyList<string> DeployProblems(DeploySources sources) => DeployChecks.Problems(sources, SettingsTheAppReads().ToList(), LocalOnly);

    /// <summary>Every settable property of every options class (a class with a <c>Section</c> constant), as an app-setting name; collections (arrays, dictionaries) are set by their entries.</summary>
    public static IEnumerable<(string Name, bool IsArray)> SettingsTheAppReads()
    {
        var assemblies = new[] { typeof(CosmosOptions).Assembly, typeof(SmartApp.Functions.Diagnostics.DiagnosticsOptions).Assembly };
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()))
        {
            if (type.GetField("Section", BindingFlags.Public | BindingFlags.Static) is not { IsLiteral: true } section) continue;
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
                yield return ($"{section.GetRawConstantValue()}__{property.Name}",
                    property.PropertyType.IsArray || property.PropertyType.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>)));
        }
    }

    /// <summary>A variable holding a list of names (strings), wherever it is in the compiled template.</summary>
    private static JsonArray? FindNames(JsonNode? node, string name) => node switch
    {
        JsonObject obj when obj[name] is JsonArray array && array.All(i => i is JsonValue) => array,
        JsonObject obj => obj.Select(p => FindNames(p.Value, name)).FirstOrDefault(found => found is not null),
        JsonArray items => items.Select(child => FindNames(child, name)).FirstOrDefault(found => found is not null),
        _ => null,
    };

    private static JsonArray? FindArray(JsonNode? node, string name)
    {
        switch (node)
        {
            case JsonObject obj:
                if (obj[name] is JsonArray array && array.All(i => i is JsonObject o && o.ContainsKey("partitionKey"))) return array;
                foreach (var (_, child) in obj)
                    if (FindArray(child, name) is { } found) return found;
                break;
            case JsonArray items:
                foreach (var child in items)
                    if (FindArray(child, name) is { } found) return found;
                break;
        }
        return null;
    }
}

using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Tests.Infra;

/// <summary>infra/ compiles and lints clean, and provisions what the code expects: its containers and its settings.</summary>
public sealed class InfraTests
{
    private static readonly string Root = BuildMetadata.RepositoryRoot;
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
        var bicep = BuildMetadata.Get("BicepCli");
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
        var template = Template();
        var list = FindArray(template, "containers") ?? throw new Xunit.Sdk.XunitException("no containers variable in the compiled template");
        var subKeys = FindObject(template, "subPartitionKeys");
        var inBicep = list.Select(c => (Name: (string)c!["name"]!, Key: (string)c["partitionKey"]!, SubKey: (string?)subKeys[(string)c["name"]!], Ttl: c["defaultTtl"] is JsonValue v ? v.GetValue<int>() : (int?)null))
            .OrderBy(c => c.Name).ToList();
        var inCode = CosmosContainers.All.Select(c => (c.Name, Key: c.PartitionKeyPath, SubKey: c.SubPartitionKeyPath, Ttl: c.DefaultTimeToLiveSeconds)).OrderBy(c => c.Name).ToList();
        Assert.Equal(inCode, inBicep);
    }

    [Fact]
    public void Every_searched_container_has_its_vector_and_full_text_policies_and_indexes_on_an_account_that_can_search()
    {
        var template = Template();
        var searched = FindObject(template, "searched");
        var inBicep = searched.Select(p => (Name: p.Key, Text: (string)p.Value!["textPath"]!, Vector: (string)p.Value["vectorPath"]!, Dimensions: (int)p.Value["dimensions"]!)).OrderBy(c => c.Name).ToList();
        var inCode = CosmosContainers.All.Where(c => c.Search is not null).Select(c => (c.Name, Text: c.Search!.TextPath, Vector: c.Search.VectorPath, c.Search.Dimensions)).OrderBy(c => c.Name).ToList();
        Assert.Equal(["memories-v2", "passages"], inCode.Select(c => c.Name));
        Assert.Equal(inCode, inBicep);

        var resources = DeployChecks.Resources(template).ToList();
        var account = resources.Single(r => (string?)r["type"] == "Microsoft.DocumentDB/databaseAccounts");
        var capabilities = account["properties"]!["capabilities"]!.AsArray().Select(c => (string)c!["name"]!).ToList();
        Assert.Contains("EnableNoSQLVectorSearch", capabilities);
        Assert.Contains("EnableNoSQLFullTextSearch", capabilities);
        // The containers' loop applies the policies and indexes to every container named in `searched`, and a
        // hierarchical key (MultiHash) to every one named in `subPartitionKeys`.
        var containers = resources.Single(r => (string?)r["type"] == "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers")
            .ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        foreach (var piece in new[] { "vectorEmbeddingPolicy", "fullTextPolicy", "vectorIndexes", "fullTextIndexes", "diskANN", "MultiHash", "variables('searched')", "variables('subPartitionKeys')" })
            Assert.Contains(piece, containers, StringComparison.Ordinal);
    }

    /// <summary>
    /// The largest plan's passages stay under Cosmos DB's 20 GB per partition key value: the README's arithmetic,
    /// from the plans as configured and the limits the code enforces.
    /// </summary>
    [Fact]
    public void No_plan_lets_one_owner_fill_a_logical_partition_with_passages()
    {
        const long PartitionLimit = 20L << 30;
        var largest = new SmartApp.Domain.Billing.BillingOptions().Plans.Values.Select(p => p.Entitlements).MaxBy(e => e.PassagesPerFile)!;
        // A passage: at most ChunkCharacters of text (UTF-8, up to 3 bytes a character in the worst case), its vector as
        // JSON (384 numbers, at most 16 characters each), and its other fields and Cosmos's own (under 1 KB).
        var passageBytes = new SmartApp.Domain.Files.FilesOptions().ChunkCharacters * 3L + CosmosContainers.EmbeddingDimensions * 16L + 1024;
        Assert.NotNull(CosmosContainers.Passages.SubPartitionKeyPath); // one file's passages per logical partition
        Assert.True(largest.PassagesPerFile * passageBytes < PartitionLimit, $"{largest.PassagesPerFile} passages of {passageBytes} bytes in one file's partition");
    }

    /// <summary>
    /// The largest plan's memories and records stay under 20 GB per logical partition: an owner's items spread over
    /// <see cref="CosmosContainers.ShardCount"/> shards by a hash of their id, so a shard holds about 1/16 of them (the
    /// bound allows six standard deviations more), each at its largest. The README's arithmetic.
    /// </summary>
    [Fact]
    public void No_plan_lets_one_owner_fill_a_logical_partition_with_memories_or_records()
    {
        const long PartitionLimit = 20L << 30;
        static long PerShard(long items) =>
            (long)Math.Ceiling(items / (double)CosmosContainers.ShardCount + 6 * Math.Sqrt(items * (1.0 / CosmosContainers.ShardCount) * (1 - 1.0 / CosmosContainers.ShardCount)));
        var memory = new SmartApp.Domain.Memory.MemoryOptions();
        var data = new SmartApp.Domain.Data.DataOptions();
        // At its largest: a memory's content and semantic document both full, its vector as JSON; a record's JSON; each
        // with its other fields and Cosmos's own (under 1 KB).
        var memoryBytes = memory.MaxContentBytes + memory.MaxDocumentBytes + CosmosContainers.EmbeddingDimensions * 16L + 1024;
        var recordBytes = data.MaxRecordBytes + 1024L;
        Assert.Equal(CosmosContainers.ShardPath, CosmosContainers.Memories.SubPartitionKeyPath);
        Assert.Equal(CosmosContainers.ShardPath, CosmosContainers.Records.SubPartitionKeyPath);
        foreach (var plan in new SmartApp.Domain.Billing.BillingOptions().Plans.Values.Select(p => p.Entitlements))
        {
            Assert.True(PerShard(plan.Memories) * memoryBytes < PartitionLimit, $"{PerShard(plan.Memories)} memories of {memoryBytes} bytes in one shard");
            Assert.True(PerShard(plan.Records) * recordBytes < PartitionLimit, $"{PerShard(plan.Records)} records of {recordBytes} bytes in one shard");
        }

        // The hash spreads ids as the bound assumes: 160,000 ids of the kinds the app makes, none of 16 shards over 10,400.
        var counts = Enumerable.Range(0, 160_000).Select(i => CosmosContainers.ShardOf(i % 2 == 0 ? $"notes:{i}" : $"mem_{i:x8}"))
            .GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(CosmosContainers.ShardCount, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 9_600, 10_400));
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

    /// <summary>The first object-valued property of that name anywhere in the node (a template's variable).</summary>
    private static JsonObject FindObject(JsonNode? node, string name) => FindObjectOrNull(node, name) ?? throw new Xunit.Sdk.XunitException($"no {name} object in the compiled template");

    private static JsonObject? FindObjectOrNull(JsonNode? node, string name) => node switch
    {
        JsonObject obj when obj[name] is JsonObject found => found,
        JsonObject obj => obj.Select(p => FindObjectOrNull(p.Value, name)).FirstOrDefault(found => found is not null),
        JsonArray items => items.Select(child => FindObjectOrNull(child, name)).FirstOrDefault(found => found is not null),
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

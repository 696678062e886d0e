using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Serialization;

namespace SmartApp.Tests.Infra;

/// <summary>
/// What a first <c>azd up</c> and the deploy job need, as files: the ARM template compiled from infra/main.bicep,
/// infra/main.parameters.json (how azd fills the parameters), the workflow and azure.yaml (YAML, read as JSON).
/// </summary>
public sealed record DeploySources(JsonObject Template, JsonObject Parameters, JsonObject Workflow, JsonObject AzureYaml)
{
    public static DeploySources Read(JsonObject template, string root) => new(
        template,
        JsonNode.Parse(File.ReadAllText(Path.Combine(root, "infra", "main.parameters.json")))!.AsObject(),
        Yaml(File.ReadAllText(Path.Combine(root, ".github", "workflows", "ci-cd.yml"))),
        Yaml(File.ReadAllText(Path.Combine(root, "azure.yaml"))));

    public DeploySources Copy() => new(Template.DeepClone().AsObject(), Parameters.DeepClone().AsObject(), Workflow.DeepClone().AsObject(), AzureYaml.DeepClone().AsObject());

    /// <summary>The deploy job of the workflow.</summary>
    public JsonObject DeployJob => Workflow["jobs"]?["deploy"]?.AsObject() ?? throw new InvalidOperationException("the workflow has no deploy job");

    /// <summary>The template of the module deployed as <paramref name="name"/>.</summary>
    public JsonObject Module(string name) => ModuleDeployment(name)["properties"]!["template"]!.AsObject();

    public JsonObject ModuleDeployment(string name) =>
        Template["resources"]!.AsArray().Select(r => r!.AsObject())
            .Single(r => (string?)r["type"] == "Microsoft.Resources/deployments" && (string?)r["name"] == name);

    private static JsonObject Yaml(string text) => ToJson(new DeserializerBuilder().Build().Deserialize<object>(text))!.AsObject();

    private static JsonNode? ToJson(object? value) => value switch
    {
        IDictionary<object, object> map => new JsonObject(map.Select(p => KeyValuePair.Create((string)p.Key, ToJson(p.Value)))),
        IList<object> list => new JsonArray(list.Select(ToJson).ToArray()),
        null => null,
        _ => JsonValue.Create(value.ToString()),
    };
}

/// <summary>
/// The deploy checks: each reads the compiled template (and the files azd and the workflow fill it from) for
/// one thing a first deploy needs, and names what is wrong. Each problem starts with its check's name.
/// </summary>
public static partial class DeployChecks
{
    /// <summary>Regions where Flex Consumption runs (az functionapp list-flexconsumption-locations).</summary>
    public static readonly IReadOnlySet<string> FlexRegions = new HashSet<string>(StringComparer.Ordinal)
    {
        "australiaeast", "australiasoutheast", "brazilsouth", "canadacentral", "centralindia", "centralus", "eastasia",
        "eastus", "eastus2", "francecentral", "germanywestcentral", "italynorth", "japaneast", "koreacentral",
        "northcentralus", "northeurope", "norwayeast", "southafricanorth", "southcentralus", "southeastasia",
        "southindia", "spaincentral", "swedencentral", "uaenorth", "uksouth", "ukwest", "westcentralus", "westeurope",
        "westus", "westus2", "westus3",
    };

    /// <summary>App settings Flex Consumption does not take (the runtime and scale are functionAppConfig's; there is no content share).</summary>
    public static readonly IReadOnlySet<string> SettingsFlexRefuses = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "FUNCTIONS_EXTENSION_VERSION", "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_WORKER_RUNTIME_VERSION", "FUNCTIONS_MAX_HTTP_CONCURRENCY",
        "FUNCTIONS_WORKER_PROCESS_COUNT", "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED", "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTOVERVNET", "WEBSITE_CONTENTSHARE", "WEBSITE_DNS_SERVER",
        "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT", "WEBSITE_NODE_DEFAULT_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_SKIP_CONTENTSHARE_VALIDATION", "WEBSITE_VNET_ROUTE_ALL",
    };

    /// <summary>Parameters the app cannot start without: azd must ask for them rather than pass an empty default.</summary>
    public static readonly IReadOnlyList<string> RequiredParameters = ["workOSClientId", "workOSApiKey", "allowedOrigin"];

    /// <summary>What azd sets itself, so the workflow need not.</summary>
    private static readonly IReadOnlySet<string> SetByAzd = new HashSet<string>(StringComparer.Ordinal) { "AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_PRINCIPAL_ID" };

    private const string KeyVaultSecretsOfficer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";

    /// <summary>Every problem every check finds.</summary>
    public static IReadOnlyList<string> Problems(DeploySources sources, IEnumerable<(string Name, bool IsArray)> settingsTheAppReads, IReadOnlyDictionary<string, string> localOnly) =>
    [
        .. Scope(sources), .. Regions(sources), .. Required(sources), .. Secrets(sources), .. References(sources),
        .. VaultOperator(sources), .. Order(sources), .. PurgeProtection(sources), .. Cors(sources), .. Flex(sources),
        .. Settings(sources, settingsTheAppReads, localOnly), .. Workflow(sources),
    ];

    /// <summary>Subscription scope, creating the resource group every module deploys into (azd up on an empty subscription).</summary>
    public static IEnumerable<string> Scope(DeploySources s)
    {
        if (!((string?)s.Template["$schema"] ?? "").Contains("subscriptionDeploymentTemplate", StringComparison.Ordinal))
            yield return "scope: the template is not deployed at subscription scope, so nothing creates its resource group";
        var resources = s.Template["resources"]!.AsArray().Select(r => r!.AsObject()).ToList();
        if (!resources.Any(r => (string?)r["type"] == "Microsoft.Resources/resourceGroups"))
            yield return "scope: no resource group is created";
        foreach (var module in resources.Where(r => (string?)r["type"] == "Microsoft.Resources/deployments" && r["resourceGroup"] is null))
            yield return $"scope: module '{module["name"]}' names no resource group to deploy into";
    }

    /// <summary>Only regions where Flex Consumption runs, and azd's location picker.</summary>
    public static IEnumerable<string> Regions(DeploySources s)
    {
        var location = s.Template["parameters"]?["location"];
        if (location is null) { yield return "regions: no location parameter"; yield break; }
        if (location["allowedValues"] is not JsonArray allowed || allowed.Count == 0)
            yield return "regions: any region is accepted, though Flex Consumption runs only in some";
        else
            foreach (var region in allowed.Select(r => (string)r!).Where(r => !FlexRegions.Contains(r)))
                yield return $"regions: '{region}' is allowed, but Flex Consumption does not run there";
        if ((string?)location["metadata"]?["azd"]?["type"] != "location")
            yield return "regions: location has no azd location metadata, so azd does not offer its region list";
        if (location["defaultValue"] is not null)
            yield return "regions: location has a default, so azd does not ask for it";
    }

    /// <summary>What the app cannot start without has no default and is filled from an azd value with none either, so azd asks.</summary>
    public static IEnumerable<string> Required(DeploySources s)
    {
        foreach (var name in RequiredParameters)
        {
            var parameter = s.Template["parameters"]?[name];
            if (parameter is null) { yield return $"required: no parameter {name}"; continue; }
            if (parameter["defaultValue"] is not null)
                yield return $"required: {name} has a default ({parameter["defaultValue"]!.ToJsonString()}), so azd does not ask for it and the app may start without it";
            if (parameter["minLength"] is not JsonValue min || min.GetValue<int>() < 1)
                yield return $"required: {name} accepts an empty value";
            if (EnvironmentValue(s, name) is not { } mapped)
                yield return $"required: {name} is not mapped in main.parameters.json";
            else if (mapped.HasDefault)
                yield return $"required: main.parameters.json gives {name} a default (${{{mapped.Variable}=...}}), so azd does not ask for it";
        }
    }

    /// <summary>
    /// Every secret reaches the vault: a secure parameter, mapped in main.parameters.json from an azd value that azure.yaml
    /// hands to the pipeline and the workflow passes to the provision step, stored under its name, and read by its setting
    /// only when it was given.
    /// </summary>
    public static IEnumerable<string> Secrets(DeploySources s)
    {
        var entries = s.Template["variables"]?["vaultSecrets"] as JsonArray;
        if (entries is null) { yield return "secrets: no vaultSecrets variable lists the secrets"; yield break; }
        var stored = s.Module("keyvault");
        var storedValues = s.ModuleDeployment("keyvault")["properties"]!["parameters"]!["secrets"]!["value"]!.AsObject();
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries.Select(e => e!.AsObject()))
        {
            var (name, given) = ((string)entry["name"]!, entry["given"]?.ToString() ?? "");
            var parameter = Regex.Match(given, @"^\[not\(empty\(parameters\('(\w+)'\)\)\)\]$") is { Success: true } m ? m.Groups[1].Value : null;
            if (parameter is null) { yield return $"secrets: {name} is referenced whether or not it was given ({given})"; continue; }
            listed.Add(parameter);
            if ((string?)s.Template["parameters"]?[parameter]?["type"] != "securestring")
                yield return $"secrets: {parameter} is not a secure parameter";
            if ((string?)storedValues[name] != $"[parameters('{parameter}')]")
                yield return $"secrets: the vault does not store {parameter} as '{name}'";
            if (EnvironmentValue(s, parameter) is not { } mapped)
            {
                yield return $"secrets: {parameter} is not mapped in main.parameters.json, so no secret is ever created";
                continue;
            }
            if (!Listed(s.AzureYaml["pipeline"]?["secrets"], mapped.Variable))
                yield return $"secrets: azure.yaml's pipeline secrets do not list {mapped.Variable}, so azd pipeline config never gives it to the workflow";
            if (WorkflowValue(s, mapped.Variable, provisionStep: true) != $"${{{{ secrets.{mapped.Variable} }}}}")
                yield return $"secrets: the workflow's provision step does not pass {mapped.Variable} from the repository's secrets";
        }
        if (stored["resources"] is null) yield return "secrets: the vault module creates no secrets";
        foreach (var (name, parameter) in s.Template["parameters"]!.AsObject())
            if ((string?)parameter!["type"] == "securestring" && !listed.Contains(name))
                yield return $"secrets: {name} is a secret that no app setting reads";
    }

    /// <summary>Settings hold Key Vault references only through vaultSecrets, and only for a secret that was given.</summary>
    public static IEnumerable<string> References(DeploySources s)
    {
        var function = s.Module("function");
        foreach (var (name, value) in Settings(function))
            if (value is JsonValue v && v.ToString().Contains("@Microsoft.KeyVault", StringComparison.OrdinalIgnoreCase))
                yield return $"references: {name} is always a Key Vault reference, whether or not its secret exists";
        var secretSettings = (string?)function["variables"]?["secretSettings"] ?? "";
        if (!secretSettings.Contains("if(lambdaVariables('s').given", StringComparison.Ordinal))
            yield return "references: secret settings reference their secret whether or not it was given";
        var config = Resources(function).Single(r => (string?)r["type"] == "Microsoft.Web/sites/config");
        if ((string?)config["properties"] != "[union(variables('settings'), variables('secretSettings'))]")
            yield return "references: the app settings are not the settings and the secret settings";
        if ((string?)s.ModuleDeployment("function")["properties"]!["parameters"]!["vaultSecrets"]?["value"] != "[variables('vaultSecrets')]")
            yield return "references: the function app is not given the vaultSecrets list";
    }

    /// <summary>Whoever deploys may add and read secrets by hand (Key Vault Secrets Officer).</summary>
    public static IEnumerable<string> VaultOperator(DeploySources s)
    {
        var assignment = Resources(s.Module("rbac")).FirstOrDefault(r => (string?)r["type"] == "Microsoft.Authorization/roleAssignments"
            && (r["properties"]?["roleDefinitionId"]?.ToJsonString().Contains("keyVaultSecretsOfficer", StringComparison.Ordinal) == true
                || r["properties"]?["roleDefinitionId"]?.ToJsonString().Contains(KeyVaultSecretsOfficer, StringComparison.Ordinal) == true));
        if (assignment is null)
            yield return "vault operator: nobody is given Key Vault Secrets Officer, so no one can add a secret by hand";
        if ((string?)s.Template["parameters"]?["vaultOperatorPrincipalId"]?["defaultValue"] != "[deployer().objectId]")
            yield return "vault operator: the vault operator is not the deploying principal by default";
    }

    /// <summary>The function app is created after the role assignments it reads its references and package with.</summary>
    public static IEnumerable<string> Order(DeploySources s)
    {
        var dependsOn = s.ModuleDeployment("function")["dependsOn"] as JsonArray ?? [];
        if (!dependsOn.Any(d => ((string?)d ?? "").Contains("'Microsoft.Resources/deployments', 'rbac')", StringComparison.Ordinal)))
            yield return "order: the function app may be created before its identity's role assignments, and cache unresolved Key Vault references";
    }

    /// <summary>Purge protection is a choice (off by default), so azd down then azd up does not collide with a vault that cannot be purged.</summary>
    public static IEnumerable<string> PurgeProtection(DeploySources s)
    {
        var vault = Resources(s.Module("keyvault")).Single(r => (string?)r["type"] == "Microsoft.KeyVault/vaults");
        if (vault["properties"]?["enablePurgeProtection"] is JsonValue fixedValue && fixedValue.GetValueKind() != System.Text.Json.JsonValueKind.String)
            yield return $"purge protection: fixed to {fixedValue.ToJsonString()}, not a parameter";
        if (s.Template["parameters"]?["vaultPurgeProtection"]?["defaultValue"] is not JsonValue d || d.GetValueKind() != System.Text.Json.JsonValueKind.False)
            yield return "purge protection: not a parameter that is off by default";
    }

    /// <summary>A browser on the web app's origin may call the API (platform CORS) and the signed blob URLs (blob CORS).</summary>
    public static IEnumerable<string> Cors(DeploySources s)
    {
        var function = Resources(s.Module("function")).Single(r => (string?)r["type"] == "Microsoft.Web/sites");
        var cors = function["properties"]?["siteConfig"]?["cors"];
        if (cors?["allowedOrigins"]?.ToJsonString().Contains("allowedOrigin", StringComparison.Ordinal) != true)
            yield return "cors: the function app's platform CORS does not allow the web app's origin";
        else if (cors["supportCredentials"] is not JsonValue credentials || !credentials.GetValue<bool>())
            yield return "cors: the function app's platform CORS does not support credentials (the sign-in cookie)";
        var blobs = Resources(s.Module("storage")).SingleOrDefault(r => (string?)r["type"] == "Microsoft.Storage/storageAccounts/blobServices");
        var rule = (blobs?["properties"]?["cors"]?["corsRules"] as JsonArray)?.FirstOrDefault();
        if (rule is null)
            yield return "cors: the blob service has no CORS rule, so a browser's direct upload fails its preflight";
        else
            foreach (var method in new[] { "PUT", "GET", "OPTIONS" }.Where(m => rule["allowedMethods"]?.AsArray().Any(a => (string?)a == m) != true))
                yield return $"cors: the blob service's CORS does not allow {method}";
    }

    /// <summary>Nothing Flex Consumption refuses.</summary>
    public static IEnumerable<string> Flex(DeploySources s)
    {
        var function = s.Module("function");
        foreach (var (name, _) in Settings(function).Where(p => SettingsFlexRefuses.Contains(p.Key)))
            yield return $"flex: {name} is not an app setting Flex Consumption takes";
        var site = Resources(function).Single(r => (string?)r["type"] == "Microsoft.Web/sites");
        foreach (var property in new[] { "linuxFxVersion", "alwaysOn", "netFrameworkVersion", "use32BitWorkerProcess" })
            if (site["properties"]?["siteConfig"]?[property] is not null)
                yield return $"flex: siteConfig.{property} is not a Flex Consumption setting";
        if ((string?)site["properties"]?["functionAppConfig"]?["runtime"]?["name"] != "dotnet-isolated")
            yield return "flex: functionAppConfig.runtime is not dotnet-isolated";
    }

    /// <summary>Every setting the app reads is set in Azure (or is local only, for a stated reason).</summary>
    public static IEnumerable<string> Settings(DeploySources s, IEnumerable<(string Name, bool IsArray)> read, IReadOnlyDictionary<string, string> localOnly)
    {
        var keys = Settings(s.Module("function")).Select(p => p.Key)
            .Concat((s.Template["variables"]?["vaultSecrets"] as JsonArray ?? []).Select(e => (string)e!["setting"]!))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var (name, isArray) in read)
            if (!localOnly.ContainsKey(name) && !keys.Contains(name) && !(isArray && keys.Any(k => k.StartsWith(name + "__", StringComparison.Ordinal))))
                yield return $"settings: {name} is read by the app but not set in Azure";
    }

    /// <summary>The deploy job as azd pipeline config sets it up: a token subject it registered, and every value azd reads.</summary>
    public static IEnumerable<string> Workflow(DeploySources s)
    {
        var job = s.DeployJob;
        if (job["environment"] is not null)
            yield return $"workflow: the deploy job names environment '{job["environment"]}', which changes its token's subject to one azd pipeline config does not register";
        if ((string?)job["permissions"]?["id-token"] != "write")
            yield return "workflow: the deploy job may not request an OIDC token (permissions: id-token: write)";
        foreach (var name in new[] { "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID", "AZURE_ENV_NAME", "AZURE_LOCATION" })
            if (WorkflowValue(s, name, provisionStep: false) != $"${{{{ vars.{name} }}}}")
                yield return $"workflow: {name} is not taken from the repository's variables";
        if (WorkflowValue(s, "AZD_INITIAL_ENVIRONMENT_CONFIG", provisionStep: true) != "${{ secrets.AZD_INITIAL_ENVIRONMENT_CONFIG }}")
            yield return "workflow: the provision step does not pass AZD_INITIAL_ENVIRONMENT_CONFIG (the values azd up asked for)";
        foreach (var variable in s.AzureYaml["pipeline"]?["variables"] as JsonArray ?? [])
            if (WorkflowValue(s, (string)variable!, provisionStep: true) != $"${{{{ vars.{variable} }}}}")
                yield return $"workflow: {variable} is an azd pipeline variable the deploy job does not read";
        // Every value main.parameters.json reads reaches the provision step (azd's own aside).
        foreach (var (parameter, _) in s.Parameters["parameters"]!.AsObject())
            if (EnvironmentValue(s, parameter) is { } mapped && !SetByAzd.Contains(mapped.Variable) && WorkflowValue(s, mapped.Variable, provisionStep: true) is null)
                yield return $"workflow: {mapped.Variable} (parameter {parameter}) never reaches the provision step";
        var steps = (job["steps"] as JsonArray ?? []).Select(step => (string?)step?["run"] ?? "").ToList();
        if (!steps.Any(run => run.Contains("--federated-credential-provider github", StringComparison.Ordinal)))
            yield return "workflow: the deploy job does not sign in with federated credentials";
    }

    /// <summary>The app settings the function template sets literally (its <c>settings</c> variable).</summary>
    private static IEnumerable<KeyValuePair<string, JsonNode?>> Settings(JsonObject functionTemplate) =>
        functionTemplate["variables"]?["settings"] as JsonObject ?? [];

    private static bool Listed(JsonNode? list, string value) => list is JsonArray items && items.Any(i => (string?)i == value);

    /// <summary>The azd value (environment variable) main.parameters.json fills <paramref name="parameter"/> from.</summary>
    private static (string Variable, bool HasDefault)? EnvironmentValue(DeploySources s, string parameter) =>
        (string?)s.Parameters["parameters"]?[parameter]?["value"] is { } value && EnvironmentReference().Match(value) is { Success: true } m
            ? (m.Groups["name"].Value, m.Groups["default"].Success)
            : null;

    /// <summary>What the deploy job sets <paramref name="name"/> to: in its env, or (when <paramref name="provisionStep"/>) the provision step's.</summary>
    private static string? WorkflowValue(DeploySources s, string name, bool provisionStep)
    {
        var job = s.DeployJob;
        if ((string?)job["env"]?[name] is { } value) return value;
        if (!provisionStep) return null;
        var provision = (job["steps"] as JsonArray ?? []).FirstOrDefault(step => ((string?)step?["run"] ?? "").Contains("azd provision", StringComparison.Ordinal));
        return (string?)provision?["env"]?[name];
    }

    internal static IEnumerable<JsonObject> Resources(JsonNode? node)
    {
        if (node is JsonObject obj)
        {
            if (obj["type"] is JsonValue && obj["name"] is not null) yield return obj;
            foreach (var (_, child) in obj)
                foreach (var found in Resources(child)) yield return found;
        }
        else if (node is JsonArray array)
        {
            foreach (var child in array)
                foreach (var found in Resources(child)) yield return found;
        }
    }

    [GeneratedRegex(@"^\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?<default>=[^}]*)?\}$")]
    private static partial Regex EnvironmentReference();
}

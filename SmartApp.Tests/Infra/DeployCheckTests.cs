using System.Text.Json.Nodes;

namespace SmartApp.Tests.Infra;

/// <summary>
/// The deploy checks pass on the real template and files, and each catches its defect: every defect below is one a
/// first deploy would meet, put into a copy of the compiled template (or of main.parameters.json, the workflow, azure.yaml).
/// </summary>
public sealed class DeployCheckTests
{
    private static readonly Lazy<DeploySources> Real = new(InfraTests.Sources);

    [Fact]
    public void The_template_and_the_files_azd_and_the_workflow_fill_it_from_pass_every_check()
    {
        Assert.Empty(InfraTests.DeployProblems(Real.Value));
    }

    public static TheoryData<string, string> Defects
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var (name, defect) in DefectList) data.Add(name, defect.Check);
            return data;
        }
    }

    /// <summary>The template deployed at resource-group scope, as if nothing created the group.</summary>
    private static void ResourceGroupScope(DeploySources s)
    {
        s.Template["$schema"] = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#";
        Remove(s.Template["resources"]!.AsArray(), r => (string?)r["type"] == "Microsoft.Resources/resourceGroups");
        foreach (var module in s.Template["resources"]!.AsArray()) module!.AsObject().Remove("resourceGroup");
    }

    private static readonly Dictionary<string, (string Check, Action<DeploySources> Inject)> DefectList = new()
    {
        ["resource-group scope (nothing creates the group)"] = ("scope", ResourceGroupScope),
        ["any region accepted"] = ("regions", s => s.Template["parameters"]!["location"]!.AsObject().Remove("allowedValues")),
        ["a region without Flex Consumption"] = ("regions", s => s.Template["parameters"]!["location"]!["allowedValues"]!.AsArray().Add("westindia")),
        ["no azd location metadata"] = ("regions", s => s.Template["parameters"]!["location"]!.AsObject().Remove("metadata")),
        ["WorkOS client id defaults to empty"] = ("required", s => s.Template["parameters"]!["workOSClientId"]!["defaultValue"] = ""),
        ["allowed origin defaulted in main.parameters.json"] = ("required", s => s.Parameters["parameters"]!["allowedOrigin"]!["value"] = "${SMARTAPP_ALLOWED_ORIGIN=https://localhost:3000}"),
        ["a secret not mapped in main.parameters.json"] = ("secrets", s => s.Parameters["parameters"]!.AsObject().Remove("vultrApiKey")),
        ["a secret azd pipeline config does not hand over"] = ("secrets", s => Remove(s.AzureYaml["pipeline"]!["secrets"]!.AsArray(), v => (string?)v == "STRIPE_SECRET_KEY")),
        ["a secret the workflow does not pass"] = ("secrets", s => ProvisionStep(s)["env"]!.AsObject().Remove("RAINDROP_API_KEY")),
        ["a secret referenced whether or not it exists"] = ("secrets", s => s.Template["variables"]!["vaultSecrets"]![1]!["given"] = true),
        ["a secure parameter no setting reads"] = ("secrets", s => s.Template["parameters"]!.AsObject().Add("orphanKey", new JsonObject { ["type"] = "securestring", ["defaultValue"] = "" })),
        ["a literal Key Vault reference"] = ("references", s => s.Module("function")["variables"]!["settings"]!["Vultr__ApiKey"] = "@Microsoft.KeyVault(SecretUri=[parameters('keyVaultUri')]secrets/vultr-api-key)"),
        ["references built unconditionally"] = ("references", s => s.Module("function")["variables"]!["secretSettings"] =
            "[toObject(parameters('vaultSecrets'), lambda('s', lambdaVariables('s').setting), lambda('s', format('@Microsoft.KeyVault(SecretUri={0}secrets/{1})', parameters('keyVaultUri'), lambdaVariables('s').name)))]"),
        ["no Key Vault role for the deployer"] = ("vault operator", s => Remove(s.Module("rbac")["resources"]!.AsArray(),
            r => r["properties"]?["roleDefinitionId"]?.ToJsonString().Contains("keyVaultSecretsOfficer", StringComparison.Ordinal) == true)),
        ["the function app before its role assignments"] = ("order", s => Remove(s.ModuleDeployment("function")["dependsOn"]!.AsArray(), d => ((string?)d)!.Contains("'rbac')", StringComparison.Ordinal))),
        ["purge protection always on"] = ("purge protection", s => DeployChecks.Resources(s.Module("keyvault")).Single(r => (string?)r["type"] == "Microsoft.KeyVault/vaults")["properties"]!["enablePurgeProtection"] = true),
        ["no platform CORS"] = ("cors", s => DeployChecks.Resources(s.Module("function")).Single(r => (string?)r["type"] == "Microsoft.Web/sites")["properties"]!["siteConfig"]!.AsObject().Remove("cors")),
        ["no blob CORS"] = ("cors", s => DeployChecks.Resources(s.Module("storage")).Single(r => (string?)r["type"] == "Microsoft.Storage/storageAccounts/blobServices")["properties"]!.AsObject().Remove("cors")),
        ["a setting Flex Consumption refuses"] = ("flex", s => s.Module("function")["variables"]!["settings"]!["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated"),
        ["a setting the app reads missing"] = ("settings", s => s.Module("function")["variables"]!["settings"]!.AsObject().Remove("Cosmos__DatabaseName")),
        ["a deploy job with an environment"] = ("workflow", s => s.DeployJob["environment"] = "production"),
        ["a deploy job without its region"] = ("workflow", s => s.DeployJob["env"]!.AsObject().Remove("AZURE_LOCATION")),
        ["a deploy job that forgets what azd up asked for"] = ("workflow", s => ProvisionStep(s)["env"]!.AsObject().Remove("AZD_INITIAL_ENVIRONMENT_CONFIG")),
        ["a parameter's value that never reaches the pipeline"] = ("workflow", s => s.DeployJob["env"]!.AsObject().Remove("WORKOS_CLIENT_ID")),
    };

    [Theory]
    [MemberData(nameof(Defects))]
    public void Each_check_catches_its_defect(string defect, string check)
    {
        var sources = Real.Value.Copy();
        DefectList[defect].Inject(sources);
        var problems = InfraTests.DeployProblems(sources);
        Assert.Contains(problems, p => p.StartsWith(check + ":", StringComparison.Ordinal));
    }

    private static JsonObject ProvisionStep(DeploySources s) =>
        s.DeployJob["steps"]!.AsArray().Single(step => ((string?)step!["run"] ?? "").Contains("azd provision", StringComparison.Ordinal))!.AsObject();

    private static void Remove(JsonArray array, Func<JsonNode, bool> match)
    {
        var found = array.Where(n => n is not null && match(n)).ToList();
        Assert.NotEmpty(found); // the defect is really put in
        foreach (var node in found) array.Remove(node);
    }
}

using System.Diagnostics;
using System.Reflection;
using SmartApp.Tests.EndToEnd;

namespace SmartApp.Tests.Clients;

/// <summary>
/// The TypeScript client package (<c>clients/typescript</c>): installed from its lock file, its generated types checked against
/// the OpenAPI document, compiled, its own tests run against this dev host (the real worker, the emulators, the fake model),
/// and the packed package installed into an empty project where a sample using every helper type-checks.
/// </summary>
[Collection(DevHostCollection.Name)]
public sealed class TypeScriptClientTests(DevHostFixture app)
{
    private static readonly string Package = Path.Combine(
        BuildMetadata.RepositoryRoot, "clients", "typescript");

    [Fact]
    public async Task The_client_package_is_generated_from_the_contract_compiles_and_passes_its_tests_against_the_running_app()
    {
        await NpmAsync("ci", "--no-audit", "--no-fund");
        await NpmAsync("run", "check-generated");
        await NpmAsync("run", "build");
        var output = await NpmAsync("test");
        Assert.Contains("# fail 0", output);
        // What an app maker installs: the packed package, in an empty project, type-checks a sample using every helper.
        Assert.Contains("type-checks against it", await NpmAsync("run", "check-packed"));
    }

    private async Task<string> NpmAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("npm") { WorkingDirectory = Package, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["SMARTAPP_API_URL"] = app.State["apiUrl"];
        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var text = await output + await errors;
        Assert.True(process.ExitCode == 0, $"npm {string.Join(' ', arguments)} exited {process.ExitCode}:\n{text}");
        return text;
    }
}

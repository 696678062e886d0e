using System.Diagnostics;
using Microsoft.Playwright;

namespace SmartApp.Tests.Browser;

/// <summary>
/// Debian's Chromium driven by Playwright, headless. Chromium is installed with apt when it is
/// missing (as root, or with sudo), so a clean machine runs the browser tests too.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where each step's screenshot goes: TestResults/screenshots under the test project.</summary>
    public static string ScreenshotDirectory { get; } = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "TestResults", "screenshots"));

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath)) await InstallChromiumAsync();
        Directory.CreateDirectory(ScreenshotDirectory);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
    }

    private static async Task InstallChromiumAsync()
    {
        var asRoot = Environment.UserName == "root";
        var script = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium";
        using var install = Process.Start(new ProcessStartInfo(asRoot ? "bash" : "sudo", asRoot ? ["-c", script] : ["-n", "bash", "-c", script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = install.StandardOutput.ReadToEndAsync();
        var errors = install.StandardError.ReadToEndAsync();
        await install.WaitForExitAsync();
        if (install.ExitCode != 0 || !File.Exists(ChromiumPath))
            throw new InvalidOperationException($"Chromium could not be installed (apt-get exited {install.ExitCode}): {await errors}{await output}");
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
    }
}

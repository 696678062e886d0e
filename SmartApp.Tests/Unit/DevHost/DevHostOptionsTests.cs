using SmartApp.DevHost;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class DevHostOptionsTests
{
    [Fact]
    public void Defaults_serve_the_repositorys_function_app_on_7071_without_emulators()
    {
        var options = DevHostOptions.Parse([]);
        Assert.Equal(7071, options.HttpPort);
        Assert.Equal(EmulatorMode.None, options.Emulators);
        Assert.EndsWith(Path.Combine("SmartApp.Functions", "bin"), Path.GetDirectoryName(Path.GetDirectoryName(options.AppDirectory))!);
        Assert.True(File.Exists(Path.Combine(options.RepositoryRoot, "SmartApp.sln")));
    }

    [Fact]
    public void Options_are_read()
    {
        var options = DevHostOptions.Parse(["--port", "0", "--emulators", "--ready-file", "ready.json"]);
        Assert.Equal(0, options.HttpPort);
        Assert.Equal(EmulatorMode.ForThisRun, options.Emulators);
        Assert.Equal(Path.GetFullPath("ready.json"), options.ReadyFile);
    }

    [Theory]
    [InlineData("--port")]
    [InlineData("--port", "70000")]
    [InlineData("--bogus")]
    public void Bad_options_are_refused(params string[] args) =>
        Assert.Throws<ArgumentException>(() => DevHostOptions.Parse(args));
}

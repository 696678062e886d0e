using SmartApp.DevHost;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class HostSettingsTests
{
    [Fact]
    public void The_body_limit_is_the_hosts_100_MiB_unless_the_app_setting_says_otherwise()
    {
        var app = Directory.CreateTempSubdirectory().FullName;
        Assert.Equal(104_857_600, HostSettings.Read(app).MaxRequestBodyBytes);
        var settings = Path.Combine(app, "local.settings.json");
        File.WriteAllText(settings, """{ "Values": { "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "268500992" } }""");
        Assert.Equal(268_500_992, HostSettings.Read(app, settings).MaxRequestBodyBytes);
        File.WriteAllText(settings, """{ "Values": { "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "lots" } }""");
        Assert.Equal(104_857_600, HostSettings.Read(app, settings).MaxRequestBodyBytes);
    }
}

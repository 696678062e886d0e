using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;
using SmartApp.Domain.Identity;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class AuthOptionsTests
{
    private static AuthOptions Resolve(string environment, params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings.ToDictionary(s => s.Key, s => (string?)s.Value)).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddIdentity(configuration, new HostingEnvironment { EnvironmentName = environment });
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<AuthOptions>>().Value;
    }

    [Fact]
    public void Demo_mode_is_refused_outside_development() =>
        Assert.Contains("Demo outside the Development environment",
            Assert.Throws<OptionsValidationException>(() => Resolve(Environments.Production, ("Auth:Mode", "Demo"))).Message);

    [Fact]
    public void Demo_mode_outside_development_needs_an_explicit_setting() =>
        Assert.Equal(AuthMode.Demo, Resolve(Environments.Production, ("Auth:Mode", "Demo"), ("Auth:AllowDemoOutsideDevelopment", "true")).Mode);

    [Fact]
    public void Demo_mode_is_the_development_default() =>
        Assert.Equal(AuthMode.Demo, Resolve(Environments.Development).Mode);
}

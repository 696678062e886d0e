using System.ClientModel;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OpenAI;
using SmartApp.Domain.Model;
using SmartApp.Domain.Model.Adapters.Vultr;

namespace SmartApp.Tests.Unit;

/// <summary>The model list from the provider (the fake Vultr's <c>GET /v1/models</c>, through the real OpenAI client): a retired model falls back.</summary>
[Trait("Category", "Unit")]
public sealed class ModelCatalogTests : IAsyncLifetime
{
    private FakeVultr _vultr = null!;
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-11-30T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public async Task InitializeAsync() => _vultr = await FakeVultr.StartAsync();

    public async Task DisposeAsync() => await _vultr.DisposeAsync();

    private VultrModelCatalog Catalog(string preferences)
    {
        var options = Options.Create(new VultrOptions { BaseUrl = _vultr.BaseUrl, ApiKey = FakeVultr.ApiKey, Model = preferences, ModelListRefresh = TimeSpan.FromMinutes(10) });
        var client = new OpenAIClient(new ApiKeyCredential(FakeVultr.ApiKey), new OpenAIClientOptions { Endpoint = new Uri(_vultr.BaseUrl) });
        return new VultrModelCatalog(client.GetOpenAIModelClient(), options, _clock, NullLogger<VultrModelCatalog>.Instance);
    }

    [Fact]
    public async Task The_first_preference_served_is_used_and_a_retired_one_falls_back_to_the_next()
    {
        Assert.Equal("e2e-model", await Catalog("e2e-model,e2e-other-model").DefaultModelAsync(default));

        var catalog = Catalog("llama-3.3-70b-instruct-fp8, e2e-other-model, e2e-model");
        Assert.Equal("e2e-other-model", await catalog.DefaultModelAsync(default));
        Assert.Equal(ModelCatalogStatus.FallenBack, catalog.State.Status);
        Assert.Contains("llama-3.3-70b-instruct-fp8 is not served", catalog.State.Message);
        Assert.Equal(["e2e-model", "e2e-other-model"], await catalog.ServedAsync(default));
    }

    [Fact]
    public async Task When_no_preference_is_served_the_state_names_the_setting_and_what_is_served()
    {
        var catalog = Catalog("retired-a,retired-b");
        Assert.Equal("retired-a", await catalog.DefaultModelAsync(default));
        Assert.Equal(ModelCatalogStatus.Unknown, catalog.State.Status);
        Assert.Contains("Vultr:Model", catalog.State.Message);
        Assert.Contains("e2e-other-model", catalog.State.Message);
    }

    [Fact]
    public async Task The_list_is_read_again_after_its_refresh_and_a_failed_read_keeps_the_last()
    {
        var catalog = Catalog("e2e-model,e2e-other-model");
        Assert.Equal("e2e-model", await catalog.DefaultModelAsync(default));

        lock (_vultr.Models) _vultr.Models.Remove("e2e-model"); // retired at the provider
        Assert.Equal("e2e-model", await catalog.DefaultModelAsync(default)); // trusted until the refresh
        _clock.Advance(TimeSpan.FromMinutes(11));
        Assert.Equal("e2e-other-model", await catalog.DefaultModelAsync(default));

        _vultr.ModelListDown = true;
        _clock.Advance(TimeSpan.FromMinutes(11));
        Assert.Equal("e2e-other-model", await catalog.DefaultModelAsync(default));
        Assert.Equal(["e2e-other-model"], await catalog.ServedAsync(default));
    }
}

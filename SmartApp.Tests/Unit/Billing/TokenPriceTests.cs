using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Moq;
using SmartApp.Domain.Billing;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Identity;

namespace SmartApp.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class TokenPriceTests
{
    private static PlanQuotas Quotas(string plan)
    {
        var store = new Mock<IBillingStore>();
        store.Setup(s => s.FindAsync("user_1", It.IsAny<CancellationToken>())).ReturnsAsync(plan == "free" ? null : new SubscriptionState("user_1", plan, "active"));
        return new PlanQuotas(store.Object, Mock.Of<IUsageStore>(), new MemoryCache(new MemoryCacheOptions()), Options.Create(new BillingOptions()), TimeProvider.System);
    }

    [Fact]
    public async Task A_replys_tokens_cost_the_plans_monthly_price_spread_over_the_tokens_it_includes()
    {
        var user = new CurrentUser("user_1", null, null, false);
        var pro = await Quotas("pro").TokenPriceAsync(user, default); // 2,000 cents a month for 10,000,000 tokens
        Assert.Equal(("pro", 0.0002m), (pro.Plan, pro.CentsPerToken));
        Assert.Equal(0.3m, pro.Of(1_500));
        var free = await Quotas("free").TokenPriceAsync(user, default);
        Assert.Equal(("free", 0m), (free.Plan, free.Of(1_500)));
    }
}

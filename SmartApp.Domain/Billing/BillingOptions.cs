using System.ComponentModel.DataAnnotations;

namespace SmartApp.Domain.Billing;

/// <summary>What a plan allows.</summary>
public sealed class PlanEntitlements
{
    [Range(0, int.MaxValue)] public int MessagesPerDay { get; set; }
    [Range(0, long.MaxValue)] public long TokensPerMonth { get; set; }
    [Range(0, long.MaxValue)] public long StorageBytes { get; set; }
    [Range(0, int.MaxValue)] public int Files { get; set; }
    [Range(0, int.MaxValue)] public int Memories { get; set; }
    [Range(0, int.MaxValue)] public int Records { get; set; }

    /// <summary>Passages of one file indexed for search (ingestion is CPU: embedding a passage takes milliseconds).</summary>
    [Range(0, int.MaxValue)] public int PassagesPerFile { get; set; }

    /// <summary>Passages indexed across all files in a UTC month.</summary>
    [Range(0, long.MaxValue)] public long PassagesPerMonth { get; set; }

    /// <summary>Calls of SmartApp's tools in a UTC day, by the model in chat and by MCP clients together.</summary>
    [Range(0, int.MaxValue)] public int ToolCallsPerDay { get; set; }
}

public sealed class PlanOptions
{
    /// <summary>Shown to users.</summary>
    [Required]
    public string Name { get; set; } = "";

    /// <summary>The Stripe price a subscription to this plan uses; none for the free plan.</summary>
    public string? StripePriceId { get; set; }

    /// <summary>Monthly price in cents, for display.</summary>
    [Range(0, int.MaxValue)]
    public int MonthlyPriceCents { get; set; }

    [Required]
    public PlanEntitlements Entitlements { get; set; } = new();
}

/// <summary>Plans and Stripe: section <c>Billing</c>. Plan ids are the keys of <see cref="Plans"/>; <c>free</c> must exist.</summary>
public sealed class BillingOptions : IValidatableObject
{
    public const string Section = "Billing";
    public const string FreePlan = "free";

    public Dictionary<string, PlanOptions> Plans { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        [FreePlan] = new() { Name = "Free", Entitlements = new() { MessagesPerDay = 50, TokensPerMonth = 200_000, StorageBytes = 100L << 20, Files = 100, Memories = 1_000, Records = 10_000, PassagesPerFile = 5_000, PassagesPerMonth = 20_000, ToolCallsPerDay = 500 } },
        ["pro"] = new() { Name = "Pro", StripePriceId = "price_pro_monthly", MonthlyPriceCents = 2000, Entitlements = new() { MessagesPerDay = 2_000, TokensPerMonth = 10_000_000, StorageBytes = 10L << 30, Files = 10_000, Memories = 100_000, Records = 1_000_000, PassagesPerFile = 100_000, PassagesPerMonth = 1_000_000, ToolCallsPerDay = 20_000 } },
    };

    /// <summary>Stripe's API (the tests point it at a fake Stripe on loopback).</summary>
    [Required, Url]
    public string StripeApiBase { get; set; } = "https://api.stripe.com";

    /// <summary>The secret key (<c>sk_…</c>); a Key Vault reference in Azure. Empty: checkout and webhooks are refused.</summary>
    public string StripeSecretKey { get; set; } = "";

    /// <summary>The webhook endpoint's signing secret (<c>whsec_…</c>).</summary>
    public string StripeWebhookSecret { get; set; } = "";

    /// <summary>Accepted age of a webhook signature's timestamp.</summary>
    /// <summary>Longest wait for one call to Stripe's API (the SDK retries a failed call once).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan StripeRequestTimeout { get; set; } = TimeSpan.FromSeconds(20);

    [Range(typeof(TimeSpan), "00:00:10", "01:00:00")]
    public TimeSpan WebhookTolerance { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Where Checkout and the portal send the browser back when the client does not say.</summary>
    [Required, Url]
    public string DefaultReturnUrl { get; set; } = "http://localhost:3000/billing";

    /// <summary>
    /// When events missed while the webhook was down are looked for in Stripe's events list: the <c>RecoverStripeEvents</c>
    /// timer's six-field NCRONTAB schedule (the host reads it as <c>%Billing:EventRecoverySchedule%</c>; every 10 minutes by default).
    /// </summary>
    [Required, RegularExpression(@"^\S+( \S+){5}$", ErrorMessage = "Billing:EventRecoverySchedule is a six-field NCRONTAB expression (seconds first).")]
    public string EventRecoverySchedule { get; set; } = "0 */10 * * * *";

    /// <summary>How far back the first look goes (Stripe keeps events for 30 days); later looks start where the last one ended.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan EventRecoveryWindow { get; set; } = TimeSpan.FromDays(3);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Plans.ContainsKey(FreePlan)) yield return new ValidationResult("Billing:Plans must include 'free'.", [nameof(Plans)]);
        foreach (var (id, plan) in Plans)
            if (!id.Equals(FreePlan, StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(plan.StripePriceId))
                yield return new ValidationResult($"Billing:Plans:{id}:StripePriceId is required for a paid plan.", [nameof(Plans)]);
    }

    public string? PlanForPrice(string? priceId) =>
        priceId is null ? null : Plans.FirstOrDefault(p => string.Equals(p.Value.StripePriceId, priceId, StringComparison.Ordinal)).Key;
}

using SmartApp.Domain.Identity;

namespace SmartApp.Domain.Common.Quotas;

/// <summary>What a plan limits, checked before the work that uses it.</summary>
public enum QuotaKind
{
    ChatMessage,
}

/// <summary>Refuses work over the user's plan limits (429 until the period resets, or 402 when only a paid plan lifts the limit).</summary>
public interface IQuotaGate
{
    Task EnsureAsync(CurrentUser user, QuotaKind kind, CancellationToken cancellationToken);
}

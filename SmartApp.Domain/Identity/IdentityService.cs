using System.Net.Mail;
using System.Security.Cryptography;
using System.Text;
using SmartApp.Domain.Common.Errors;

namespace SmartApp.Domain.Identity;

/// <summary>Sign-in and the signed-in user's profile.</summary>
public sealed class IdentityService(IUserRepository users, DemoTokenService demoTokens)
{
    public const string DefaultDemoEmail = "demo@smartapp.local";
    public const string DefaultDemoName = "Demo User";
    private const int MaxEmailLength = 254;
    private const int MaxNameLength = 100;

    /// <summary>Signs in a local demo user (created on first use) and issues an access token for them.</summary>
    public async Task<SignInResult> SignInDemoAsync(string? email, string? name, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        email = string.IsNullOrWhiteSpace(email) ? DefaultDemoEmail : email.Trim();
        if (email.Length > MaxEmailLength || !MailAddress.TryCreate(email, out var address) || address.Address != email)
            errors["email"] = ["Must be a single email address of at most 254 characters."];
        name = string.IsNullOrWhiteSpace(name) ? DefaultDemoName : name.Trim();
        if (name.Length > MaxNameLength || name.Any(char.IsControl))
            errors["name"] = ["Must be at most 100 characters, without control characters."];
        if (errors.Count > 0) throw new ValidationFailedException(errors);

        var user = await users.UpsertFromSignInAsync(new UserSignIn(DemoUserId(email), email, name, "demo"), cancellationToken).ConfigureAwait(false);
        var token = await demoTokens.IssueAsync(user, cancellationToken).ConfigureAwait(false);
        return new SignInResult(token.AccessToken, "Bearer", token.ExpiresAt, user);
    }

    public async Task<User> GetUserAsync(CurrentUser caller, CancellationToken cancellationToken) =>
        await users.FindAsync(caller.UserId, cancellationToken).ConfigureAwait(false)
        ?? throw new NotFoundException("The signed-in user no longer exists.");

    /// <summary>The same email always signs in as the same demo user.</summary>
    internal static string DemoUserId(string email) =>
        "demo_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(email.ToLowerInvariant())))[..24];
}

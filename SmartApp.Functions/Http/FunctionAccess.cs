namespace SmartApp.Functions.Http;

/// <summary>The function answers without a bearer token. Every other HTTP function requires one.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class AllowAnonymousAttribute : Attribute;

/// <summary>The function is for operators: the caller must be an admin (see Auth:AdminEmails).</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class AdminOnlyAttribute : Attribute;

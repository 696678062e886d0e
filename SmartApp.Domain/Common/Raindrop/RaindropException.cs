namespace SmartApp.Domain.Common.Raindrop;

/// <summary>Raindrop could not do what was asked: unreachable, too slow, its circuit open, or an error answer. Callers fall back to the local path.</summary>
public sealed class RaindropException(string operation, string message, int? status = null, Exception? inner = null)
    : Exception($"Raindrop {operation}: {message}", inner)
{
    public string Operation { get; } = operation;

    /// <summary>The HTTP status Raindrop answered with; null when there was no answer.</summary>
    public int? Status { get; } = status;
}

using System.Text;
using SmartApp.Domain.Common.Errors;

namespace SmartApp.Domain.Files;

/// <summary>The name a user gives a file: shown back and offered on download, never used as a path.</summary>
public static class FileNames
{
    public const int MaxBytes = 255;

    /// <summary>The name as given (percent-decoded), or a 400 naming <c>name</c> when it is missing or could be taken for a path.</summary>
    public static string Check(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new ValidationFailedException("name", "A file name is required (the X-File-Name header, or the multipart part's filename).");
        // Headers carry ASCII: clients percent-encode other characters (a '%' not followed by two hex digits stays as it is).
        name = Uri.UnescapeDataString(name).Trim();
        if (name.IndexOfAny(['/', '\\']) >= 0 || name.Contains("..", StringComparison.Ordinal))
            throw new ValidationFailedException("name", "The file name may not contain '/', '\\' or '..'.");
        if (name.Any(char.IsControl))
            throw new ValidationFailedException("name", "The file name may not contain control characters.");
        if (name.Length == 0 || Encoding.UTF8.GetByteCount(name) > MaxBytes)
            throw new ValidationFailedException("name", $"The file name must be 1 to {MaxBytes} bytes (UTF-8).");
        return name;
    }

    public static string CheckContentType(string? contentType) =>
        string.IsNullOrWhiteSpace(contentType) ? "application/octet-stream"
        : contentType.Length <= 200 && System.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out _) ? contentType.Trim()
        : throw new ValidationFailedException("contentType", "The content type is not a valid media type.");
}

namespace SmartApp.Domain.Common;

/// <summary>Enum values as clients name them: by name, in any case; numbers and undefined names are not values.</summary>
public static class EnumNames
{
    /// <summary>The value's name as the API writes it (the JSON settings' camelCase: <c>notIndexed</c>), in messages and telemetry too.</summary>
    public static string Of<T>(T value) where T : struct, Enum => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(value.ToString());

    public static bool TryParse<T>(string? name, out T value) where T : struct, Enum =>
        Enum.TryParse(name, ignoreCase: true, out value) && Enum.IsDefined(value) && !int.TryParse(name, out _);
}

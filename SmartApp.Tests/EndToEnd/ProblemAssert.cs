using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace SmartApp.Tests.EndToEnd;

/// <summary>What a client checks on an error: status, the problem+json shape, the stable type, and no internals.</summary>
public static class ProblemAssert
{
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, HttpStatusCode status, string kind)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal($"https://smartapp.dev/problems/{kind}", problem.GetProperty("type").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("traceId").GetString()));
        Assert.DoesNotContain("   at ", text);
        Assert.DoesNotContain("Exception", text);
        return problem;
    }
}

/// <summary>What a client checks on success: the status it expected, then the JSON body (default when there is none).</summary>
public static class AnswerAssert
{
    public static async Task<JsonElement> JsonAsync(Task<HttpResponseMessage> send, HttpStatusCode expected)
    {
        using var response = await send;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }
}

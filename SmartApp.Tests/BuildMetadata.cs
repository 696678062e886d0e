using System.Reflection;

namespace SmartApp.Tests;

/// <summary>What the build wrote into this assembly (SmartApp.Tests.csproj): where the repository, the dev host and the tools are.</summary>
internal static class BuildMetadata
{
    public static string Get(string key) =>
        typeof(BuildMetadata).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    public static string RepositoryRoot => Get("RepositoryRoot");
}

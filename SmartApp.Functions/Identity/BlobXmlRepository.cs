using System.Xml.Linq;
using Azure;
using Azure.Storage.Blobs.Models;
using Microsoft.AspNetCore.DataProtection.Repositories;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Functions.Identity;

/// <summary>
/// Keeps the ASP.NET Core data-protection key ring (which encrypts sign-in and session cookies) in
/// the system blob container, so every instance and every restart reads the same keys.
/// </summary>
internal sealed class BlobXmlRepository(BlobStore blobs) : IXmlRepository
{
    private const string Prefix = "dataprotection/";

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        blobs.EnsureCreatedAsync(CancellationToken.None).GetAwaiter().GetResult();
        var elements = new List<XElement>();
        foreach (var item in blobs.System.GetBlobs(BlobTraits.None, BlobStates.None, Prefix, CancellationToken.None))
        {
            var content = blobs.System.GetBlobClient(item.Name).DownloadContent().Value.Content.ToString();
            elements.Add(XElement.Parse(content));
        }
        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        blobs.EnsureCreatedAsync(CancellationToken.None).GetAwaiter().GetResult();
        var name = $"{Prefix}{friendlyName}-{Guid.NewGuid():N}.xml";
        blobs.System.GetBlobClient(name).Upload(BinaryData.FromString(element.ToString(SaveOptions.DisableFormatting)),
            new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } });
    }
}

using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moq;
using SmartApp.Domain.Common.Quotas;
using SmartApp.Domain.Common.Search;
using SmartApp.Domain.Files;
using SmartApp.Domain.Files.Ingestion;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Model;

namespace SmartApp.Tests.Unit;

/// <summary>The file service over the given ports; search, questions, the queue and the model are inert.</summary>
internal static class TestFileService
{
    public static FileService Create(IFileStore files, IFileContentStore contents, IQuotaGate quotas, FilesOptions options, TimeProvider clock) =>
        new(files, contents, Mock.Of<IFileSearch>(), Mock.Of<IDocumentQuestions>(), Mock.Of<IIngestionQueue>(),
            new LanguageModel(Mock.Of<IChatClient>(), NullLogger<LanguageModel>.Instance), quotas,
            new SpaceAccess(new OrganizationAccess(Options.Create(new OrganizationOptions()))), Options.Create(options), clock, NullLogger<FileService>.Instance);
}

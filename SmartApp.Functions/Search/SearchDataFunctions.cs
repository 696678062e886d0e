using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Common.Search;

namespace SmartApp.Functions.Search;

/// <summary>The search data migration's timer: the host runs one at a time across every instance (its timer singleton).</summary>
public sealed class SearchDataFunctions(SearchDataMigration migration)
{
    [Function("MigrateSearchData")]
    public Task Migrate([TimerTrigger("%Search:MigrationSchedule%")] TimerInfo timer, FunctionContext context) =>
        migration.RunAsync(context.CancellationToken);
}

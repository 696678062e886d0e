using Microsoft.Azure.Functions.Worker;
using SmartApp.Domain.Common.Storage;

namespace SmartApp.Functions.Storage;

/// <summary>The stored data migration's timer: the host runs one at a time across every instance (its timer singleton).</summary>
public sealed class StoredDataFunctions(StoredDataMigration migration)
{
    [Function("MigrateStoredData")]
    public Task Migrate([TimerTrigger("%Cosmos:MigrationSchedule%")] TimerInfo timer, FunctionContext context) =>
        migration.RunAsync(context.CancellationToken);
}

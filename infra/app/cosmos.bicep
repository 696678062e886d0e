// Cosmos DB (NoSQL API), serverless, local (key) auth off, and the smartapp database with every
// container the app uses. Partition keys cannot change once deployed: they must match
// SmartApp.Domain/Common/Storage/CosmosContainers.cs (a test compares them).
param name string
param location string
param tags object

var databaseName = 'smartapp'

// defaultTtl: null = off, -1 = on without a default (items set their own), n = seconds.
var containers = [
  { name: 'users', partitionKey: '/userId', defaultTtl: null }
  { name: 'conversations', partitionKey: '/userId', defaultTtl: -1 }
  { name: 'memories-v2', partitionKey: '/userId', defaultTtl: -1 }
  { name: 'files', partitionKey: '/userId', defaultTtl: -1 }
  { name: 'passages', partitionKey: '/userId', defaultTtl: -1 }
  { name: 'records-v2', partitionKey: '/userId', defaultTtl: -1 }
  { name: 'usage', partitionKey: '/userId', defaultTtl: -1 }
  { name: 'idempotency', partitionKey: '/userId', defaultTtl: 86400 }
  { name: 'leases', partitionKey: '/id', defaultTtl: null }
  { name: 'webhook-events', partitionKey: '/id', defaultTtl: -1 }
  { name: 'account-deletions', partitionKey: '/id', defaultTtl: 2592000 }
  { name: 'shares', partitionKey: '/id', defaultTtl: null }
]

// The second level of a hierarchical key (kind MultiHash), by container, so that one owner's items spread over
// many logical partitions (Cosmos DB holds at most 20 GB under one key value): a file's passages are one partition;
// an owner's memories and records spread over 16 shards by id (CosmosContainers.ShardOf). The containers these
// replaced ('memories', 'records': one partition per user) are no longer declared; a deployment that has them keeps
// them, and the app's stored data migration empties them.
var subPartitionKeys = {
  passages: '/fileId'
  'memories-v2': '/shard'
  'records-v2': '/shard'
}

// Where a searched container's text (full-text indexed) and embedding (vector indexed, all-MiniLM-L6-v2's 384
// dimensions) are, by container: SearchedPaths in CosmosContainers.cs.
var searched = {
  'memories-v2': { textPath: '/content', vectorPath: '/vector', dimensions: 384 }
  passages: { textPath: '/text', vectorPath: '/vector', dimensions: 384 }
}

resource account 'Microsoft.DocumentDB/databaseAccounts@2025-10-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    locations: [ { locationName: location, failoverPriority: 0, isZoneRedundant: false } ]
    // Vector search (VectorDistance, vector indexes) and full-text search (FullTextScore, full-text indexes).
    capabilities: [ { name: 'EnableServerless' }, { name: 'EnableNoSQLVectorSearch' }, { name: 'EnableNoSQLFullTextSearch' } ]
    disableLocalAuth: true
    minimalTlsVersion: 'Tls12'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2025-10-15' = {
  parent: account
  name: databaseName
  properties: { resource: { id: databaseName } }
}

resource sqlContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2025-10-15' = [for container in containers: {
  parent: database
  name: container.name
  properties: {
    resource: union({
      id: container.name
      partitionKey: contains(subPartitionKeys, container.name)
        ? { paths: [ container.partitionKey, subPartitionKeys[container.name] ], kind: 'MultiHash', version: 2 }
        : { paths: [ container.partitionKey ], kind: 'Hash', version: 2 }
      indexingPolicy: union({
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [ { path: '/*' } ]
        // A vector is searched through its vector index only; in the range index it would only cost writes.
        excludedPaths: concat([ { path: '/"_etag"/?' } ], contains(searched, container.name) ? [ { path: '${searched[container.name].vectorPath}/*' } ] : [])
      }, contains(searched, container.name) ? {
        vectorIndexes: [ { path: searched[container.name].vectorPath, type: 'diskANN' } ]
        fullTextIndexes: [ { path: searched[container.name].textPath } ]
      } : {})
    }, container.defaultTtl == null ? {} : { defaultTtl: container.defaultTtl }, contains(searched, container.name) ? {
      vectorEmbeddingPolicy: {
        vectorEmbeddings: [ { path: searched[container.name].vectorPath, dataType: 'float32', distanceFunction: 'cosine', dimensions: searched[container.name].dimensions } ]
      }
      fullTextPolicy: {
        defaultLanguage: 'en-US'
        fullTextPaths: [ { path: searched[container.name].textPath, language: 'en-US' } ]
      }
    } : {})
  }
}]

output name string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name

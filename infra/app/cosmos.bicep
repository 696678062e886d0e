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
  { name: 'memories', partitionKey: '/userId', defaultTtl: -1 }
  { name: 'files', partitionKey: '/userId', defaultTtl: -1 }
  { name: 'records', partitionKey: '/userId', defaultTtl: -1 }
  { name: 'usage', partitionKey: '/userId', defaultTtl: -1 }
  { name: 'idempotency', partitionKey: '/userId', defaultTtl: 86400 }
  { name: 'leases', partitionKey: '/id', defaultTtl: null }
  { name: 'webhook-events', partitionKey: '/id', defaultTtl: -1 }
  { name: 'account-deletions', partitionKey: '/id', defaultTtl: 2592000 }
]

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    locations: [ { locationName: location, failoverPriority: 0, isZoneRedundant: false } ]
    capabilities: [ { name: 'EnableServerless' } ]
    disableLocalAuth: true
    minimalTlsVersion: 'Tls12'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: { resource: { id: databaseName } }
}

resource sqlContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [for container in containers: {
  parent: database
  name: container.name
  properties: {
    resource: union({
      id: container.name
      partitionKey: { paths: [ container.partitionKey ], kind: 'Hash', version: 2 }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [ { path: '/*' } ]
        excludedPaths: [ { path: '/"_etag"/?' } ]
      }
    }, container.defaultTtl == null ? {} : { defaultTtl: container.defaultTtl })
  }
}]

output name string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name

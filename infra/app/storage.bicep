// The storage account: the app's deployment package, users' files, the app's own state, queues.
// Shared-key access is off: everything signs in with the managed identity.
param name string
param location string
param tags object
@description('The web app origin whose browser writes direct uploads to, and reads downloads from, signed blob URLs.')
param allowedOrigin string
@description('The app\'s own origin (its web console), which does the same.')
param appOrigin string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    // A browser PUTs a direct upload to its signed URL and GETs a download: both need the blob service's CORS.
    cors: {
      corsRules: [
        {
          allowedOrigins: [ allowedOrigin, appOrigin ]
          allowedMethods: [ 'GET', 'HEAD', 'PUT', 'OPTIONS' ]
          allowedHeaders: [ '*' ]
          exposedHeaders: [ 'ETag', 'Content-Length', 'Content-Type', 'x-ms-request-id' ]
          maxAgeInSeconds: 3600
        }
      ]
    }
  }
}

resource deployment 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: 'deployment'
}

resource files 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: 'files'
}

resource system 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: 'system'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

// The work queues and the poison queues the Functions host moves a message to after maxDequeueCount
// (SmartApp.Domain/Common/Storage/WorkQueue.cs names them; the host would create them, but not without the role).
var workQueues = [ 'file-ingestion', 'file-ingestion-poison', 'account-deletion', 'account-deletion-poison', 'memory-learning', 'memory-learning-poison', 'conversation-titles', 'conversation-titles-poison' ]

resource queue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for name in workQueues: {
  parent: queues
  name: name
}]

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deployment.name}'

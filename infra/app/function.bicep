// The function app on Flex Consumption (FC1, dotnet-isolated 10.0), running as the user-assigned
// identity. Its settings carry the same names the app reads locally (local.settings.sample.json);
// connections are identity-based and secrets are Key Vault references to the secrets that exist.
param name string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerUrl string
param blobServiceUri string
param queueServiceUri string
param cosmosEndpoint string
param cosmosDatabaseName string
param appInsightsConnectionString string
param keyVaultUri string
@description('The third-party secrets: { name, setting, given }; a setting references its secret only when it was given.')
param vaultSecrets array
param workOSClientId string
param allowedOrigin string
param vultrModel string
param raindropVersion string
param stripeProPriceId string
param instanceMemoryMB int
param maximumInstanceCount int

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${name}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

var hostName = '${name}.azurewebsites.net'

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    // Platform CORS: the web app's origin may call the API from the browser (with cookies: the sign-in flow).
    siteConfig: { minTlsVersion: '1.2', ftpsState: 'Disabled', cors: { allowedOrigins: [ allowedOrigin ], supportCredentials: true } }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: { instanceMemoryMB: instanceMemoryMB, maximumInstanceCount: maximumInstanceCount }
      runtime: { name: 'dotnet-isolated', version: '10.0' }
    }
  }
}

// Every app setting but the secrets, under the names the app reads locally.
var settings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // The host refuses request bodies over 100 MiB unless this raises it: Files__MaxFileBytes plus multipart framing.
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '268500992'
  Azure__ManagedIdentityClientId: identityClientId
  Cosmos__AccountEndpoint: cosmosEndpoint
  Cosmos__DatabaseName: cosmosDatabaseName
  Cosmos__RequestTimeout: '00:00:10'
  Storage__BlobServiceUri: blobServiceUri
  Storage__QueueServiceUri: queueServiceUri
  Storage__FilesContainer: 'files'
  Storage__SystemContainer: 'system'
  Auth__Mode: 'WorkOS'
  Auth__AccessTokenLifetime: '01:00:00'
  Auth__DemoIssuer: 'smartapp-demo'
  Auth__Audience: 'smartapp'
  Auth__ClockSkew: '00:01:00'
  Auth__UserCacheDuration: '00:00:15'
  Auth__SignInTimeout: '00:10:00'
  Auth__AllowedOrigins__0: allowedOrigin
  Auth__AdminEmails__0: ''
  Organizations__RolePermissions__admin__0: 'files:write'
  Organizations__RolePermissions__admin__1: 'data:write'
  Organizations__RolePermissions__admin__2: 'memory:write'
  Organizations__RolePermissions__admin__3: 'billing:manage'
  Organizations__RolePermissions__admin__4: 'organization:export'
  WorkOS__ApiBaseUrl: 'https://api.workos.com'
  WorkOS__ClientId: workOSClientId
  WorkOS__RedirectUri: 'https://${hostName}/api/auth/callback'
  WorkOS__JwksCacheDuration: '00:05:00'
  WorkOS__JwksRefetchCooldown: '00:00:30'
  WorkOS__RequestTimeout: '00:00:05'
  WorkOS__EventSyncSchedule: '0 */5 * * * *'
  Vultr__BaseUrl: 'https://api.vultrinference.com/v1'
  Vultr__Model: vultrModel
  Vultr__ModelListRefresh: '00:10:00'
  Vultr__RequestTimeout: '00:00:30'
  Memory__Provider: 'Azure'
  Memory__MaxContentBytes: '32768'
  Memory__MaxDocumentBytes: '262144'
  Memory__SummaryTimeout: '00:00:20'
  Memory__MaxSummaryEntries: '500'
  Memory__OpenSessionCacheDuration: '00:00:10'
  Memory__SearchIndexMaxBytes: '268435456'
  Memory__SearchIndexMaxUserBytes: '67108864'
  Memory__SearchIndexMaxAge: '00:10:00'
  Memory__Learning: 'true'
  Memory__LearningTimeout: '00:00:30'
  Memory__MaxLearnedFactsPerTurn: '8'
  Search__Engine: 'Native'
  Cosmos__MigrationSchedule: '0 * * * * *'
  Cosmos__MigrationBatchSize: '500'
  Files__Provider: 'Azure'
  Files__MaxFileBytes: '268435456'
  Files__SignedUrlLifetime: '00:15:00'
  Files__ChunkCharacters: '1000'
  Files__EmbedBatchSize: '64'
  Files__IngestionStallTimeout: '00:02:00'
  Files__IngestionSliceBudget: '00:04:00'
  Files__MaxIngestionAttempts: '3'
  Files__AnswerTimeout: '00:00:30'
  Files__SearchIndexMaxAge: '00:10:00'
  Files__SearchIndexMaxBytes: '671088640'
  Files__SearchIndexMaxUserBytes: '335544320'
  Files__UploadCompletionGrace: '00:15:00'
  Files__MaxUploadDuration: '1.00:00:00'
  Files__SweepSchedule: '0 */1 * * * *'
  Files__MaxExtractedCharacters: '20000000'
  Files__MaxMarkupCharacters: '40000000'
  Files__MaxPackageBytes: '536870912'
  Files__MaxPackageEntries: '10000'
  Files__MaxCompressionRatio: '200'
  Files__MaxPdfStreamBytes: '67108864'
  Files__MaxPdfPages: '5000'
  Files__MaxNestingDepth: '256'
  Files__ExtractionTimeout: '00:01:30'
  Files__ExtractionMemoryBytes: '536870912'
  Raindrop__BaseUrl: 'https://api.raindrop.run'
  Raindrop__ApplicationName: 'smartapp'
  Raindrop__Version: raindropVersion
  Raindrop__BucketName: 'smartapp-files'
  Raindrop__MemoryName: 'smartapp-memory'
  Raindrop__SqlName: 'smartapp-data'
  Raindrop__MaxMirroredFileBytes: '67108864'
  Raindrop__ReadTimeout: '00:00:05'
  Raindrop__AttemptTimeout: '00:01:00'
  Raindrop__BreakDuration: '00:00:30'
  Raindrop__MirrorSchedule: '*/2 * * * * *'
  Raindrop__MirrorMaxBackoff: '00:02:00'
  Raindrop__MirrorBatchSize: '100'
  Chat__MaxMessageBytes: '16384'
  Chat__ReplyFlushInterval: '00:00:00.250'
  Chat__ReplyHeartbeat: '00:00:02'
  Chat__ReplyStaleAfter: '00:00:15'
  Chat__ResumePollInterval: '00:00:00.100'
  Chat__PromptTokenBudget: '8000'
  Chat__MaxReplyTokens: '1024'
  Chat__FirstTokenTimeout: '00:00:20'
  Chat__IdleTimeout: '00:00:15'
  Chat__HistoryMessages: '20'
  Chat__ContextItems: '5'
  Chat__OutageRetryAfter: '00:00:30'
  Agents__ChatTools: 'true'
  Agents__MaxToolRounds: '4'
  Agents__MaxTurnTokens: '40000'
  Agents__MaxToolResultBytes: '16384'
  Agents__ToolTimeout: '00:00:20'
  Agents__NoToolsModelMemory: '00:10:00'
  // MCP clients sign users in here: set it to your AuthKit domain (https://<subdomain>.authkit.app).
  Agents__AuthorizationServer: ''
  Billing__Plans__pro__StripePriceId: stripeProPriceId
  Billing__StripeApiBase: 'https://api.stripe.com'
  Billing__WebhookTolerance: '00:05:00'
  Billing__DefaultReturnUrl: '${allowedOrigin}/billing'
  Billing__StripeRequestTimeout: '00:00:20'
  RateLimit__RequestsPerMinute: '600'
  Billing__EventRecoverySchedule: '0 */10 * * * *'
  Billing__EventRecoveryWindow: '3.00:00:00'
  Data__Provider: 'Azure'
  Data__MaxRecordBytes: '65536'
  Data__MaxTables: '50'
  Data__AskTimeout: '00:00:30'
  Diagnostics__EnableFaultRoute: 'false'
  Telemetry__ConsoleExporter: 'false'
}

// An unset secret is an empty setting (the app's own "unavailable" answers apply), never a reference to a
// secret that does not exist, which App Service would pass on as its literal text.
var secretSettings = toObject(vaultSecrets, s => s.setting, s => s.given ? '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${s.name})' : '')

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: union(settings, secretSettings)
}

output name string = app.name
output uri string = 'https://${hostName}'

// SmartApp on Azure: a Flex Consumption function app with a user-assigned identity, and
// everything it uses — Storage, Cosmos DB (serverless), Key Vault, Log Analytics and
// Application Insights — reached with that identity, never with keys.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(40)
@description('Name of the environment (azd: AZURE_ENV_NAME); names every resource.')
param environmentName string

@description('Region for every resource.')
param location string = resourceGroup().location

@allowed([512, 2048, 4096])
@description('Memory of one function app instance, in MB.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Most instances the app scales out to.')
param maximumInstanceCount int = 100

@description('WorkOS AuthKit client id (client_...).')
param workOSClientId string = ''

@description('The web app origin that sign-in may return to and that may send cookie-authenticated changes.')
param allowedOrigin string = 'https://localhost:3000'

@secure()
@description('WorkOS API key; stored in Key Vault when given.')
param workOSApiKey string = ''

@secure()
@description('Vultr Serverless Inference API key; stored in Key Vault when given.')
param vultrApiKey string = ''

@description('Vultr chat model id (GET /v1/models lists the current catalogue).')
param vultrModel string = 'llama-3.3-70b-instruct-fp8'

@description('Stripe price id of the Pro plan.')
param stripeProPriceId string = 'price_pro_monthly'

@secure()
@description('Stripe secret key; stored in Key Vault when given.')
param stripeSecretKey string = ''

@secure()
@description('Stripe webhook signing secret; stored in Key Vault when given.')
param stripeWebhookSecret string = ''

@secure()
@description('LiquidMetal Raindrop API key; stored in Key Vault when given.')
param raindropApiKey string = ''

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = { 'azd-env-name': environmentName }

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-smartapp-${token}'
  location: location
  tags: tags
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: { name: 'smartapp-${token}', location: location, tags: tags }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  params: { name: 'stsmartapp${token}', location: location, tags: tags, allowedOrigin: allowedOrigin }
}

module cosmos 'app/cosmos.bicep' = {
  name: 'cosmos'
  params: { name: 'cosmos-smartapp-${token}', location: location, tags: tags }
}

module vault 'app/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: 'kv-smartapp-${take(token, 12)}'
    location: location
    tags: tags
    secrets: {
      'workos-api-key': workOSApiKey
      'vultr-api-key': vultrApiKey
      'stripe-secret-key': stripeSecretKey
      'stripe-webhook-secret': stripeWebhookSecret
      'raindrop-api-key': raindropApiKey
    }
  }
}

module function 'app/function.bicep' = {
  name: 'function'
  params: {
    name: 'func-smartapp-${token}'
    location: location
    tags: tags
    identityId: identity.id
    identityClientId: identity.properties.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    blobServiceUri: storage.outputs.blobEndpoint
    queueServiceUri: storage.outputs.queueEndpoint
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    appInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: vault.outputs.uri
    workOSClientId: workOSClientId
    allowedOrigin: allowedOrigin
    vultrModel: vultrModel
    stripeProPriceId: stripeProPriceId
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  params: {
    principalId: identity.properties.principalId
    storageAccountName: storage.outputs.name
    cosmosAccountName: cosmos.outputs.name
    keyVaultName: vault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

output AZURE_LOCATION string = location
output SERVICE_API_NAME string = function.outputs.name
output SERVICE_API_URI string = function.outputs.uri
output AZURE_COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_KEY_VAULT_NAME string = vault.outputs.name

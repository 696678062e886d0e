// SmartApp on Azure: a resource group holding a Flex Consumption function app with a user-assigned
// identity, and everything it uses — Storage, Cosmos DB (serverless), Key Vault, Log Analytics and
// Application Insights — reached with that identity, never with keys. Deployed at subscription scope
// so `azd up` on an empty subscription creates the resource group too.
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('Name of the environment (azd: AZURE_ENV_NAME); names the resource group and every resource.')
param environmentName string

// The regions where Flex Consumption runs (az functionapp list-flexconsumption-locations).
@minLength(1)
@description('Region for every resource: one where Flex Consumption runs.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource group to create; default rg-<environmentName>.')
param resourceGroupName string = ''

@allowed([512, 2048, 4096])
@description('Memory of one function app instance, in MB.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Most instances the app scales out to.')
param maximumInstanceCount int = 100

// Required, with no default, so azd asks for them: the app refuses to start in WorkOS mode without them.
@minLength(1)
@description('WorkOS AuthKit client id (client_...).')
param workOSClientId string

@secure()
@minLength(1)
@description('WorkOS API key (sk_...).')
param workOSApiKey string

@minLength(1)
@description('Origin of the web app (scheme://host[:port]): it may call the API and the blob URLs from the browser, and sign-in may return to it.')
param allowedOrigin string

// Optional secrets: one left empty is an empty setting, and the app answers "unavailable" for what needs it.
@secure()
@description('Vultr Serverless Inference API key; chat is unavailable without it.')
param vultrApiKey string = ''

@secure()
@description('Stripe secret key; checkout and the billing portal are unavailable without it.')
param stripeSecretKey string = ''

@secure()
@description('Stripe webhook signing secret; webhooks are refused without it.')
param stripeWebhookSecret string = ''

@secure()
@description('LiquidMetal Raindrop API key; only needed when a provider is set to Raindrop.')
param raindropApiKey string = ''

@description('Vultr chat model, or a comma-separated preference list: the first one Vultr serves (GET /v1/models) is used.')
param vultrModel string = 'deepseek-v4.1-flash,glm-5.2,llama-3.3-70b-instruct-fp8'

@description('Version id of the Raindrop application (raindrop build list); required with raindropApiKey: every bucket, memory and SQL call names it.')
param raindropVersion string = ''

@description('Stripe price id of the Pro plan.')
param stripeProPriceId string = 'price_pro_monthly'

@description('Key Vault purge protection. Off, a vault deleted by azd down --purge frees its name at once; on (production), a deleted vault and its name are kept for the retention period and cannot be purged.')
param vaultPurgeProtection bool = false

@description('Principal that may read and write the vault\'s secrets by hand (Key Vault Secrets Officer); default: whoever deploys.')
param vaultOperatorPrincipalId string = deployer().objectId

var token = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

// Each third-party secret: its name in Key Vault, the app setting that reads it, and whether it was given
// (a setting only references a secret that exists; an unresolved reference would reach the app as its literal text).
var vaultSecrets = [
  { name: 'workos-api-key', setting: 'WorkOS__ApiKey', given: !empty(workOSApiKey) }
  { name: 'vultr-api-key', setting: 'Vultr__ApiKey', given: !empty(vultrApiKey) }
  { name: 'stripe-secret-key', setting: 'Billing__StripeSecretKey', given: !empty(stripeSecretKey) }
  { name: 'stripe-webhook-secret', setting: 'Billing__StripeWebhookSecret', given: !empty(stripeWebhookSecret) }
  { name: 'raindrop-api-key', setting: 'Raindrop__ApiKey', given: !empty(raindropApiKey) }
]

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: { name: 'id-smartapp-${token}', location: location, tags: tags }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: { name: 'smartapp-${token}', location: location, tags: tags }
}

// The function app's name, known before it exists: storage's CORS lets its console upload straight to blobs.
var functionAppName = 'func-smartapp-${token}'

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: { name: 'stsmartapp${token}', location: location, tags: tags, allowedOrigin: allowedOrigin, appOrigin: 'https://${functionAppName}.azurewebsites.net' }
}

module cosmos 'app/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: { name: 'cosmos-smartapp-${token}', location: location, tags: tags }
}

module vault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-smartapp-${take(token, 12)}'
    location: location
    tags: tags
    purgeProtection: vaultPurgeProtection
    secrets: {
      'workos-api-key': workOSApiKey
      'vultr-api-key': vultrApiKey
      'stripe-secret-key': stripeSecretKey
      'stripe-webhook-secret': stripeWebhookSecret
      'raindrop-api-key': raindropApiKey
    }
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    vaultOperatorPrincipalId: vaultOperatorPrincipalId
    storageAccountName: storage.outputs.name
    cosmosAccountName: cosmos.outputs.name
    keyVaultName: vault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

// After the role assignments: the platform resolves Key Vault references (and caches them for 24 h) and
// the deployment container is read with the identity as soon as the app exists.
module function 'app/function.bicep' = {
  name: 'function'
  scope: rg
  dependsOn: [ rbac ]
  params: {
    name: functionAppName
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    blobServiceUri: storage.outputs.blobEndpoint
    queueServiceUri: storage.outputs.queueEndpoint
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    appInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: vault.outputs.uri
    vaultSecrets: vaultSecrets
    workOSClientId: workOSClientId
    allowedOrigin: allowedOrigin
    vultrModel: vultrModel
    raindropVersion: raindropVersion
    stripeProPriceId: stripeProPriceId
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = function.outputs.name
output SERVICE_API_URI string = function.outputs.uri
output AZURE_COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_KEY_VAULT_NAME string = vault.outputs.name

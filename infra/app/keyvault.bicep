// Key Vault in RBAC mode, holding only the third-party secrets; the app reads them through
// Key Vault references in its settings. A secret is created only when its value is given.
param name string
param location string
param tags object

@description('Purge protection: once on it cannot be turned off, and a deleted vault keeps its name for the retention period.')
param purgeProtection bool

@secure()
param secrets object

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 30
    // The resource provider refuses false here: off is the property left out.
    enablePurgeProtection: purgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for item in items(secrets): if (!empty(item.value)) {
  parent: vault
  name: item.key
  properties: { value: item.value }
}]

output name string = vault.name
output uri string = vault.properties.vaultUri

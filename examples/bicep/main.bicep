// A public cluster that restricts its API server. `main.json` beside this file
// is its ARM form, in the shape `az bicep build` writes.
param location string = resourceGroup().location

resource cluster 'Microsoft.ContainerService/managedClusters@2024-02-01' = {
  name: 'aks-bicep'
  location: location
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    dnsPrefix: 'aks-bicep'
    agentPoolProfiles: [
      {
        name: 'system'
        mode: 'System'
        count: 3
        vmSize: 'Standard_D4ds_v5'
      }
    ]
    networkProfile: {
      networkPlugin: 'azure'
      loadBalancerSku: 'standard'
    }
    apiServerAccessProfile: {
      authorizedIPRanges: [
        '0.0.0.0/32'
        '203.0.113.0/24'
      ]
    }
  }
}

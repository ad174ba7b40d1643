//! Scope and resource ID functions: resourceGroup, subscription, tenant,
//! deployment, environment, managementGroup, resourceId,
//! subscriptionResourceId, tenantResourceId, extensionResourceId.

use super::{arity, object, string, unknown, want_str, Res};
use crate::evaluate::value::Value;

/// The deployment scope a template is evaluated in.
///
/// The defaults are **placeholders**, not real values: a scan does not know
/// where a template will be deployed. They are chosen to be obviously fake:
///
/// | value | placeholder |
/// | --- | --- |
/// | subscription id | `00000000-0000-0000-0000-000000000000` |
/// | subscription display name | `subscription` |
/// | tenant id | `00000000-0000-0000-0000-000000000000` |
/// | resource group name | `resource-group` |
/// | location | none: Unknown (see below) |
/// | deployment name | `deployment` |
/// | management group | `management-group` |
///
/// The location is not given a placeholder: templates use it as a lookup
/// key (`variables('regionNames')[resourceGroup().location]`), and a made-up
/// region turns into a made-up error. It is Unknown, with a reason.
///
/// `environment()` describes the public cloud (`AzureCloud`), whose values
/// are real. `deployment().properties.templateLink` is Unknown: it exists
/// only when the template is deployed from a URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub subscription_id: String,
    pub subscription_name: String,
    pub tenant_id: String,
    pub resource_group: String,
    /// `None`: Unknown, the default (see above).
    pub location: Option<String>,
    pub deployment_name: String,
    pub management_group: String,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            subscription_id: "00000000-0000-0000-0000-000000000000".into(),
            subscription_name: "subscription".into(),
            tenant_id: "00000000-0000-0000-0000-000000000000".into(),
            resource_group: "resource-group".into(),
            location: None,
            deployment_name: "deployment".into(),
            management_group: "management-group".into(),
        }
    }
}

fn s(v: &str) -> Value {
    string(v)
}

/// The deployment's location: given by the scope when known, else Unknown.
fn location(scope: &Scope) -> Value {
    match &scope.location {
        Some(l) => s(l),
        None => unknown(
            "the location of the resource group (or deployment) is known only during the deployment",
        ),
    }
}

fn resource_group(scope: &Scope) -> Value {
    object(vec![
        (
            "id".into(),
            s(&format!(
                "/subscriptions/{}/resourceGroups/{}",
                scope.subscription_id, scope.resource_group
            )),
        ),
        ("name".into(), s(&scope.resource_group)),
        ("type".into(), s("Microsoft.Resources/resourceGroups")),
        ("location".into(), location(scope)),
        ("tags".into(), object(vec![])),
        (
            "properties".into(),
            object(vec![("provisioningState".into(), s("Succeeded"))]),
        ),
    ])
}

fn subscription(scope: &Scope) -> Value {
    object(vec![
        (
            "id".into(),
            s(&format!("/subscriptions/{}", scope.subscription_id)),
        ),
        ("subscriptionId".into(), s(&scope.subscription_id)),
        ("tenantId".into(), s(&scope.tenant_id)),
        ("displayName".into(), s(&scope.subscription_name)),
    ])
}

fn tenant(scope: &Scope) -> Value {
    object(vec![
        ("countryCode".into(), s("US")),
        ("displayName".into(), s("tenant")),
        ("id".into(), s(&format!("/tenants/{}", scope.tenant_id))),
        ("tenantId".into(), s(&scope.tenant_id)),
    ])
}

fn deployment(scope: &Scope) -> Value {
    object(vec![
        (
            "id".into(),
            s(&format!(
                "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Resources/deployments/{}",
                scope.subscription_id, scope.resource_group, scope.deployment_name
            )),
        ),
        ("name".into(), s(&scope.deployment_name)),
        ("type".into(), s("Microsoft.Resources/deployments")),
        ("location".into(), location(scope)),
        (
            "properties".into(),
            object(vec![
                (
                    "templateLink".into(),
                    unknown("deployment().properties.templateLink exists only when the template is deployed from a URI"),
                ),
                (
                    "template".into(),
                    object(vec![("contentVersion".into(), s("1.0.0.0"))]),
                ),
                ("parameters".into(), object(vec![])),
                ("mode".into(), s("Incremental")),
                ("provisioningState".into(), s("Accepted")),
            ]),
        ),
    ])
}

fn management_group(scope: &Scope) -> Value {
    object(vec![
        (
            "id".into(),
            s(&format!(
                "/providers/Microsoft.Management/managementGroups/{}",
                scope.management_group
            )),
        ),
        ("name".into(), s(&scope.management_group)),
        ("type".into(), s("Microsoft.Management/managementGroups")),
        (
            "properties".into(),
            object(vec![
                ("displayName".into(), s(&scope.management_group)),
                ("tenantId".into(), s(&scope.tenant_id)),
            ]),
        ),
    ])
}

/// The public cloud, as `environment()` returns it.
fn environment() -> Value {
    object(vec![
        ("name".into(), s("AzureCloud")),
        ("gallery".into(), s("https://gallery.azure.com/")),
        ("graph".into(), s("https://graph.windows.net/")),
        ("portal".into(), s("https://portal.azure.com")),
        ("graphAudience".into(), s("https://graph.windows.net/")),
        ("activeDirectoryDataLake".into(), s("https://datalake.azure.net/")),
        ("batch".into(), s("https://batch.core.windows.net/")),
        ("media".into(), s("https://rest.media.azure.net")),
        ("sqlManagement".into(), s("https://management.core.windows.net:8443/")),
        ("vmImageAliasDoc".into(), s("https://raw.githubusercontent.com/Azure/azure-rest-api-specs/master/arm-compute/quickstart-templates/aliases.json")),
        ("resourceManager".into(), s("https://management.azure.com/")),
        (
            "authentication".into(),
            object(vec![
                ("loginEndpoint".into(), s("https://login.microsoftonline.com/")),
                (
                    "audiences".into(),
                    super::array(vec![
                        s("https://management.core.windows.net/"),
                        s("https://management.azure.com/"),
                    ]),
                ),
                ("tenant".into(), s("common")),
                ("identityProvider".into(), s("AAD")),
            ]),
        ),
        (
            "suffixes".into(),
            object(vec![
                ("acrLoginServer".into(), s(".azurecr.io")),
                ("azureDatalakeAnalyticsCatalogAndJob".into(), s("azuredatalakeanalytics.net")),
                ("azureDatalakeStoreFileSystem".into(), s("azuredatalakestore.net")),
                ("azureFrontDoorEndpointSuffix".into(), s("azurefd.net")),
                ("keyvaultDns".into(), s(".vault.azure.net")),
                ("sqlServerHostname".into(), s(".database.windows.net")),
                ("storage".into(), s("core.windows.net")),
            ]),
        ),
    ])
}

/// `{type}/{name}` pairs after `providers/`: the type's segments after the
/// namespace interleaved with the names. The names, split at `/`, must match
/// the type's segments in number.
fn provider_path(name: &str, resource_type: &str, names: &[&str]) -> Result<String, String> {
    // Azure accepts a trailing slash ('Microsoft.Resources/deployments/');
    // deployed quickstart templates rely on it.
    let resource_type = resource_type.strip_suffix('/').unwrap_or(resource_type);
    let mut segments = resource_type.split('/');
    let namespace = segments.next().unwrap_or("");
    let types: Vec<&str> = segments.collect();
    let name_parts: Vec<&str> = names.iter().flat_map(|n| n.split('/')).collect();
    if namespace.is_empty() || types.is_empty() || types.iter().any(|t| t.is_empty()) {
        return Err(format!(
            "the function `{name}` got '{resource_type}', which is not a resource type"
        ));
    }
    if types.len() != name_parts.len() {
        return Err(format!(
            "the function `{name}` got {} resource name segment(s) for the type '{resource_type}', which needs {}",
            name_parts.len(),
            types.len()
        ));
    }
    let mut out = format!("providers/{namespace}");
    for (t, n) in types.iter().zip(name_parts) {
        out.push('/');
        out.push_str(t);
        out.push('/');
        out.push_str(n);
    }
    Ok(out)
}

fn strings<'a>(name: &str, args: &'a [Value]) -> Result<Vec<&'a str>, String> {
    args.iter()
        .map(|a| want_str(name, a, "each argument"))
        .collect()
}

/// Index of the resource type among the arguments: the first that holds a
/// `/` (subscription ids and resource group names cannot).
fn type_position(name: &str, args: &[&str], max_leading: usize) -> Result<usize, String> {
    args.iter()
        .position(|a| a.contains('/'))
        .filter(|&p| p <= max_leading)
        .ok_or_else(|| format!("the function `{name}` needs a resource type such as 'Microsoft.Network/virtualNetworks'"))
}

pub(super) fn strict(scope: &Scope, lower: &str, name: &str, args: &[Value]) -> Option<Res> {
    let none = || arity(name, args, 0, 0);
    Some(match lower {
        "resourcegroup" => none().map(|()| resource_group(scope)),
        "subscription" => none().map(|()| subscription(scope)),
        "tenant" => none().map(|()| tenant(scope)),
        "deployment" => none().map(|()| deployment(scope)),
        "environment" => none().map(|()| environment()),
        "managementgroup" => arity(name, args, 0, 1).map(|()| management_group(scope)),
        "resourceid" => (|| {
            arity(name, args, 2, usize::MAX)?;
            let a = strings(name, args)?;
            let p = type_position(name, &a, 2)?;
            let (sub, rg) = match p {
                0 => (
                    scope.subscription_id.as_str(),
                    scope.resource_group.as_str(),
                ),
                1 => (scope.subscription_id.as_str(), a[0]),
                _ => (a[0], a[1]),
            };
            let path = provider_path(name, a[p], &a[p + 1..])?;
            Ok(string(format!(
                "/subscriptions/{sub}/resourceGroups/{rg}/{path}"
            )))
        })(),
        "subscriptionresourceid" => (|| {
            arity(name, args, 2, usize::MAX)?;
            let a = strings(name, args)?;
            let p = type_position(name, &a, 1)?;
            let sub = if p == 1 {
                a[0]
            } else {
                scope.subscription_id.as_str()
            };
            let path = provider_path(name, a[p], &a[p + 1..])?;
            Ok(string(format!("/subscriptions/{sub}/{path}")))
        })(),
        "tenantresourceid" => (|| {
            arity(name, args, 2, usize::MAX)?;
            let a = strings(name, args)?;
            let path = provider_path(name, a[0], &a[1..])?;
            Ok(string(format!("/{path}")))
        })(),
        "managementgroupresourceid" => (|| {
            arity(name, args, 2, usize::MAX)?;
            let a = strings(name, args)?;
            let p = type_position(name, &a, 1)?;
            let group = if p == 1 {
                a[0]
            } else {
                scope.management_group.as_str()
            };
            let path = provider_path(name, a[p], &a[p + 1..])?;
            Ok(string(format!(
                "/providers/Microsoft.Management/managementGroups/{group}/{path}"
            )))
        })(),
        "extensionresourceid" => (|| {
            arity(name, args, 3, usize::MAX)?;
            let a = strings(name, args)?;
            let base = a[0].trim_end_matches('/');
            let path = provider_path(name, a[1], &a[2..])?;
            Ok(string(format!("{base}/{path}")))
        })(),
        _ => return None,
    })
}

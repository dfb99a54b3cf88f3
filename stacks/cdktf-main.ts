// The CDKTF app behind `npx cdktf-cli@0.21.0 synth|deploy` (see cdktf.json, docs/azure.md, docs/gcp.md).
// Runs without the CLI too (`node` on the esbuild output): settings come from cdktf.json's context,
// which the CLI's CDKTF_CONTEXT_JSON overrides.
import { readFileSync } from 'node:fs';
import { App } from 'cdktf';
import { assertGatewayBundleFresh } from './gateway-bundle';
import { GatehouseAzureStack } from './azure/gatehouse-azure-stack';
import { checkGatehouseContextKeys } from './context-keys';
import { readAzureSettings } from './azure/settings';
import { GatehouseGcpFoundationStack, GatehouseGcpStack } from './gcp/gatehouse-gcp-stack';
import { readGcpSettings } from './gcp/settings';

// The images these stacks run are built from this tree's dist/ (docs: `az acr build`, `gcloud
// builds submit`): a missing or stale bundle means the image pushed, or about to be, is not the
// code here. Refused before anything is synthesized, as the AWS app does.
if (process.env.GATEHOUSE_IMAGE_PREBUILT !== '1') assertGatewayBundleFresh(process.cwd(), 'cdktf');
const fileContext = (JSON.parse(readFileSync('cdktf.json', 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
checkGatehouseContextKeys(fileContext);
const app = new App({ context: fileContext });
const azure = readAzureSettings(app.node.tryGetContext('gatehouse:azure'));
const gcp = readGcpSettings(app.node.tryGetContext('gatehouse:gcp'));
new GatehouseAzureStack(app, azure.stackName, azure);
new GatehouseGcpFoundationStack(app, `${gcp.stackName}-foundation`, gcp);
new GatehouseGcpStack(app, gcp.stackName, gcp);
app.synth();

import { requirePeers } from '../package/peers';

requirePeers('serverless-agents/azure', ['cdktf', '@cdktf/provider-azurerm', 'constructs']);

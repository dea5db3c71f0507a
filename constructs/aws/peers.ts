import { requirePeers } from '../package/peers';

requirePeers('serverless-agents/aws', ['aws-cdk-lib', 'constructs']);

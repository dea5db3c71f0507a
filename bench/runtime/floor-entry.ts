import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';

/**
 * The floor for the runtime bundle: a handler that only imports and constructs the clients the
 * example agent needs (its model on Bedrock, skills in S3, events on EventBridge, jobs in DynamoDB).
 */
const clients = [new BedrockRuntimeClient({}), new S3Client({}), new EventBridgeClient({}), new DynamoDBClient({})];

export async function handler() {
  return clients.length;
}

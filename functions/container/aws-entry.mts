import { awsContainer } from './aws.js';
import { startContainer } from './start.js';

/**
 * The container entry of every agent on AWS, in ECS Fargate and in AgentCore Runtime: it answers
 * `POST /invocations` when the agent has an `api` trigger, and consumes the agent's queue when it
 * has one.
 */
await startContainer(awsContainer());

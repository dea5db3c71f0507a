import { Duration, Names, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AUDIT_QUERIES } from '../../contract/audit/queries';
import { AUDIT_COLUMNS, AUDIT_PARTITIONS, hiveType } from '../../contract/audit/schema';
import type { AgentDefinition } from '../../contract/definition/define';
import type { IAuditBucket } from './audit-bucket';
import { privateBucket } from './defaults';
import { acknowledgeGrantedWildcards } from './nag';

export interface AuditQueriesProps {
  /** The bucket the agents' audit records land in. */
  readonly audit: IAuditBucket;
  /**
   * The agents whose records are queried: the values of the table's `agent` partition. An agent
   * added here is queryable as soon as the stack deploys; there is no crawler to wait for.
   */
  readonly agents: readonly (AgentDefinition | string)[];
  /**
   * The Glue database's name: lower case, digits and underscores.
   * @default `agent_audit_` and the construct's unique id, lower-cased
   */
  readonly databaseName?: string;
  /** @default 'audit' */
  readonly tableName?: string;
  /**
   * The most one query may scan before Athena cancels it (the workgroup enforces it, whatever the
   * client asks).
   * @default Size.gibibytes(10)
   */
  readonly scanLimit?: Size;
  /**
   * How long query results are kept.
   * @default Duration.days(30)
   */
  readonly resultsRetention?: Duration;
  /**
   * The first day the `day` partition projects (records before it are not read).
   * @default '2025-01-01'
   */
  readonly firstDay?: string;
  /**
   * Where S3 writes the results bucket's access logs.
   * @default a new bucket, encrypted, TLS-only, public access blocked
   */
  readonly accessLogsBucket?: s3.IBucket;
  /** @default RemovalPolicy.RETAIN for the results bucket and its key */
  readonly removalPolicy?: RemovalPolicy;
}

const NAME = /^[a-z0-9_]{1,255}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The audit records made queryable with SQL in Athena: a Glue table over the audit bucket whose
 * columns derive from the audit schema (contract/audit/schema.ts), partitioned by agent and day
 * through partition projection (no crawler, no partitions to maintain), an Athena workgroup that
 * enforces encrypted results and a per-query scan limit, and the standard questions as its named
 * queries (contract/audit/queries.ts). Its resources do not grow with the number of agents.
 */
export class AuditQueries extends Construct {
  readonly databaseName: string;
  readonly tableName: string;
  readonly workGroup: athena.CfnWorkGroup;
  readonly resultsBucket: s3.Bucket;
  readonly resultsKey: kms.Key;
  /** The named queries, by their names in AUDIT_QUERIES. */
  readonly namedQueries: Readonly<Record<string, athena.CfnNamedQuery>>;
  private readonly audit: IAuditBucket;

  constructor(scope: Construct, id: string, props: AuditQueriesProps) {
    super(scope, id);
    const where = `AuditQueries ${this.node.path}`;
    this.audit = props.audit;
    this.databaseName = props.databaseName ?? `agent_audit_${Names.uniqueId(this).toLowerCase().replace(/[^a-z0-9]/g, '_')}`.slice(0, 255);
    this.tableName = props.tableName ?? 'audit';
    const firstDay = props.firstDay ?? '2025-01-01';
    const agents = [...new Set(props.agents.map((a) => (typeof a === 'string' ? a : a.name)))].sort();
    const scanLimit = (props.scanLimit ?? Size.gibibytes(10)).toBytes();
    for (const [field, value] of [['databaseName', this.databaseName], ['tableName', this.tableName]] as const) {
      if (!NAME.test(value)) throw new Error(`${where}: ${field} "${value}" must be lower case letters, digits and underscores`);
    }
    if (!DAY.test(firstDay) || Number.isNaN(Date.parse(firstDay))) throw new Error(`${where}: firstDay must be a day as YYYY-MM-DD, got "${firstDay}"`);
    if (agents.length === 0) throw new Error(`${where}: agents must name at least one agent`);
    // Athena refuses a cutoff below 10 MB.
    if (scanLimit < 10_000_000) throw new Error(`${where}: scanLimit must be at least 10 MB, got ${scanLimit} bytes`);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const stack = Stack.of(this);
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: { name: this.databaseName, description: 'Audit records of the agents: one row per run attempt and per model turn' },
    });
    const table = new glue.CfnTable(this, 'Table', {
      catalogId: stack.account,
      databaseName: this.databaseName,
      tableInput: {
        name: this.tableName,
        description: 'Audit records, one JSON line each; columns from the audit schema, partitions projected from the keys',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: AUDIT_PARTITIONS.map((p) => ({ name: p.name, type: 'string', comment: p.description })),
        parameters: {
          classification: 'json',
          'projection.enabled': 'true',
          'projection.agent.type': 'enum',
          'projection.agent.values': agents.join(','),
          'projection.day.type': 'date',
          'projection.day.format': 'yyyy-MM-dd',
          'projection.day.range': `${firstDay},NOW`,
          'projection.day.interval': '1',
          'projection.day.interval.unit': 'DAYS',
          // The key layout (contract/audit/layout.ts); a run's attempts sit one level below.
          'storage.location.template': `s3://${props.audit.bucketName}/agent=\${agent}/date=\${day}/`,
        },
        storageDescriptor: {
          location: `s3://${props.audit.bucketName}/`,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            // Snake-case columns read the records' camel-case fields (the SerDe lower-cases keys).
            parameters: Object.fromEntries(AUDIT_COLUMNS.filter((c) => c.name !== c.field.toLowerCase()).map((c) => [`mapping.${c.name}`, c.field.toLowerCase()])),
          },
          columns: AUDIT_COLUMNS.map((c) => ({ name: c.name, type: hiveType(c.type), comment: c.description.slice(0, 255) })),
        },
      },
    });
    table.addResourceDependency(database);

    this.resultsKey = new kms.Key(this, 'ResultsKey', { description: 'Encrypts audit query results', enableKeyRotation: true, removalPolicy });
    this.resultsBucket = privateBucket(this, 'Results', {
      accessLogsBucket: props.accessLogsBucket,
      accessLogsPrefix: 'audit-query-results/',
      removalPolicy,
      lifecycleRules: [{ expiration: props.resultsRetention ?? Duration.days(30), noncurrentVersionExpiration: Duration.days(1) }],
    });
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: `${this.databaseName.replace(/_/g, '-')}`.slice(0, 128),
      description: 'Queries over the agents\' audit records: results encrypted, scans limited',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        // Clients cannot override the results location, encryption or the scan limit.
        enforceWorkGroupConfiguration: true,
        bytesScannedCutoffPerQuery: scanLimit,
        publishCloudWatchMetricsEnabled: true,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: this.resultsKey.keyArn },
        },
      },
    });
    const queries: Record<string, athena.CfnNamedQuery> = {};
    for (const query of AUDIT_QUERIES) {
      const named = new athena.CfnNamedQuery(this, `Query-${query.name}`, {
        name: query.name,
        // Athena takes execution parameters as SQL literals: a day is typed with its quotes.
        description: `${query.question} Parameters, quoted ('2026-11-01'): ${query.parameters.join('; ')}.`.slice(0, 1024),
        database: this.databaseName,
        workGroup: this.workGroup.ref,
        queryString: query.sql(this.tableName),
      });
      named.addResourceDependency(table);
      queries[query.name] = named;
    }
    this.namedQueries = queries;
  }

  /**
   * Lets `grantee` (an operator's role, a reporting job) run queries in the workgroup and read
   * their results: the table's catalog entries, the audit bucket read-only, the results bucket
   * and its key.
   */
  grantQuery(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    const glueArn = (resource: string, name?: string) => stack.formatArn({ service: 'glue', resource, ...(name && { resourceName: name }) });
    const workGroupArn = stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: this.workGroup.ref });
    const auditObjects = `${this.audit.bucketArn}/*`;
    const results = this.resultsBucket.arnForObjects('*');
    acknowledgeGrantedWildcards(grantee.grantPrincipal, [auditObjects, results], 'Queries read any object of the audit bucket, which holds audit records only (Athena reads the partitions the table projects, under keys the runtime chooses per run), and write results under keys Athena chooses per query.');
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution', 'athena:GetWorkGroup', 'athena:GetNamedQuery', 'athena:ListNamedQueries', 'athena:BatchGetNamedQuery'],
      resourceArns: [workGroupArn],
    })
      .combine(iam.Grant.addToPrincipal({ grantee, actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'], resourceArns: [glueArn('catalog'), glueArn('database', this.databaseName), glueArn('table', `${this.databaseName}/${this.tableName}`)] }))
      .combine(iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject', 's3:ListBucket', 's3:GetBucketLocation'], resourceArns: [this.audit.bucketArn, auditObjects] }))
      .combine(iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject', 's3:PutObject', 's3:ListBucket', 's3:GetBucketLocation', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], resourceArns: [this.resultsBucket.bucketArn, results] }))
      .combine(this.resultsKey.grantEncryptDecrypt(grantee));
  }
}

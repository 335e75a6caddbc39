import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

/** A queue on the fauxqs server `startLocalS3` started (fauxqs serves SQS on the same port), with a client. */
export interface LocalQueue {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** Receives until the queue answers empty, deleting what it received; in arrival order. */
  drain(): Promise<Message[]>;
  stop(): void;
}

/**
 * Creates a queue on fauxqs at `endpoint`. The client's `endpoint` is set, so
 * the SDK sends to loopback whatever host fauxqs writes into the queue URL.
 */
export async function createLocalQueue(endpoint: string, name: string): Promise<LocalQueue> {
  const client = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name }));
  if (QueueUrl === undefined) throw new Error('fauxqs returned no queue URL');
  return {
    client,
    queueUrl: QueueUrl,
    async drain() {
      const messages: Message[] = [];
      for (;;) {
        const { Messages = [] } = await client.send(
          new ReceiveMessageCommand({
            QueueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ['All'],
          }),
        );
        if (Messages.length === 0) return messages;
        messages.push(...Messages);
        await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl,
            Entries: Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
          }),
        );
      }
    },
    stop() {
      client.destroy();
    },
  };
}

// Compatibility of the Firebreak gateway with the official OpenAI Node SDK.
//
// Run by node_test.go, which starts the gateway and a scripted upstream and
// passes, in the environment:
//   FIREBREAK_SDK_BASE_URL     the gateway's base URL, ending in /v1
//   FIREBREAK_SDK_KEY          an API key without limits
//   FIREBREAK_SDK_LIMITED_KEY  an API key allowed one request per minute
//   FIREBREAK_SDK_CASES        JSON: the prompts that select the upstream's
//                              scripted replies, and the answers expected
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this file through node_test.go`);
  return v;
};
const baseURL = env('FIREBREAK_SDK_BASE_URL');
const cases = JSON.parse(env('FIREBREAK_SDK_CASES'));
const model = cases.model;

// No retries, so each error is seen exactly as the gateway sent it.
const client = (apiKey = env('FIREBREAK_SDK_KEY')) =>
  new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });

const user = (content) => [{ role: 'user', content }];

const header = (headers, name) =>
  typeof headers?.get === 'function' ? headers.get(name) : headers?.[name];

test('chat completion', async () => {
  const res = await client().chat.completions.create({ model, messages: user(cases.promptChat) });
  assert.equal(res.object, 'chat.completion');
  assert.equal(res.choices.length, 1);
  assert.equal(res.choices[0].message.content, cases.chatAnswer);
  assert.equal(res.choices[0].finish_reason, 'stop');
  assert.ok(res.usage.total_tokens > 0, `usage ${JSON.stringify(res.usage)}`);
});

test('stream with include_usage', async () => {
  const stream = await client().chat.completions.create({
    model, messages: user(cases.promptStream), stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      text += c.delta?.content ?? '';
      finish = c.finish_reason ?? finish;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, cases.streamAnswer);
  assert.equal(finish, 'stop');
  assert.ok(usage, 'no usage chunk');
  assert.equal(usage.completion_tokens, 4);
});

test('stream helper accumulates the answer and usage', async () => {
  const runner = client().chat.completions.stream({
    model, messages: user(cases.promptStream), stream_options: { include_usage: true },
  });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, cases.streamAnswer);
  assert.equal(final.choices[0].finish_reason, 'stop');
  assert.equal(final.usage?.completion_tokens, 4);
});

test('tools pass through both ways', async () => {
  const tools = [{
    type: 'function',
    function: {
      name: cases.toolName, description: 'Current weather of a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  }];
  const res = await client().chat.completions.create({ model, messages: user(cases.promptTools), tools });
  const choice = res.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.equal(call.id, cases.toolCallID);
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, cases.toolName);
  assert.deepEqual(JSON.parse(call.function.arguments), JSON.parse(cases.toolArgs));
  // TestNodeSDK checks that the tool definition reached the upstream.
});

for (const tt of [
  { name: '401 for a bad key', key: 'fbk_aaaaaaaa_bbbbbbbb', model, status: 401, type: OpenAI.AuthenticationError, code: 'invalid_api_key' },
  { name: '404 for an unknown model', model: 'no-such-model', status: 404, type: OpenAI.NotFoundError, code: 'model_not_found' },
]) {
  test(tt.name, async () => {
    await assert.rejects(
      client(tt.key).chat.completions.create({ model: tt.model, messages: user(cases.promptChat) }),
      (err) => {
        assert.ok(err instanceof tt.type, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.status, tt.status);
        assert.equal(err.code, tt.code);
        assert.ok(err.message, 'empty message');
        return true;
      });
  });
}

test('429 with Retry-After when the key is over its limit', async () => {
  const limited = client(env('FIREBREAK_SDK_LIMITED_KEY'));
  const first = await limited.chat.completions.create({ model, messages: user(cases.promptChat) });
  assert.equal(first.choices[0].message.content, cases.chatAnswer);
  await assert.rejects(
    limited.chat.completions.create({ model, messages: user(cases.promptChat) }),
    (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 429);
      assert.ok(Number(header(err.headers, 'retry-after')) > 0, 'no Retry-After header');
      return true;
    });
});

test('a stream the upstream cuts makes the iterator throw', async () => {
  const stream = await client().chat.completions.create({
    model, messages: user(cases.promptDie), stream: true,
  });
  let text = '';
  await assert.rejects(async () => {
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        text += c.delta?.content ?? '';
        assert.equal(c.finish_reason ?? null, null, 'a cut stream reported a finish reason');
      }
    }
  }, (err) => {
    assert.ok(err instanceof OpenAI.APIError, `got ${err?.constructor?.name}: ${err}`);
    assert.match(JSON.stringify(err.error ?? err.message), /upstream_error/);
    return true;
  });
  assert.ok(!text.includes('three'), `text after the cut reached the client: ${text}`);
});

for (const stream of [false, true]) {
  test(`refused prompt is a content_filter completion (stream: ${stream})`, async () => {
    const params = { model, messages: user(cases.promptRefused) };
    let content = '';
    let finish = null;
    if (stream) {
      for await (const chunk of await client().chat.completions.create({ ...params, stream: true })) {
        for (const c of chunk.choices) {
          content += c.delta?.content ?? '';
          finish = c.finish_reason ?? finish;
        }
      }
    } else {
      const res = await client().chat.completions.create(params);
      content = res.choices[0].message.content;
      finish = res.choices[0].finish_reason;
    }
    assert.equal(finish, 'content_filter');
    assert.ok(content.length > 0, 'no safe reply');
    assert.ok(!content.includes(cases.neverSent), 'the upstream answered a refused prompt');
  });
}

// Labels (Labelling Measures, GB 45438-2025): the explicit label where the
// policy puts it, per tenant key; the implicit AIGC object in the body or
// the last chunk and in the AIGC header; usage untouched; content that
// clients parse (JSON mode, tool calls) without the explicit label.
const labelKeys = JSON.parse(env('FIREBREAK_SDK_LABEL_KEYS'));

const checkAIGC = (aigc, header) => {
  assert.ok(aigc, 'no AIGC object');
  assert.equal(aigc.Label, '1');
  assert.match(aigc.ReservedCode1, /^FB1\./);
  for (const k of ['Label', 'ContentProducer', 'ProduceID', 'ReservedCode1', 'ContentPropagator', 'PropagateID', 'ReservedCode2']) {
    assert.match(aigc[k], /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/, `AIGC ${k} breaks the character rules`);
  }
  assert.ok(header, 'no AIGC header');
  assert.equal(JSON.parse(header).ProduceID, aigc.ProduceID);
};

for (const pos of ['start', 'end', 'both']) {
  test(`label at ${pos}: chat completion`, async () => {
    const { data: res, response } = await client(labelKeys[pos]).chat.completions
      .create({ model, messages: user(cases.promptStream) }).withResponse();
    assert.equal(res.choices[0].message.content, cases.labelled[pos]);
    assert.equal(res.choices[0].finish_reason, 'stop');
    assert.equal(res.usage.completion_tokens, 4);
    checkAIGC(res.AIGC, response.headers.get('aigc'));
  });

  test(`label at ${pos}: stream`, async () => {
    const { data: stream, response } = await client(labelKeys[pos]).chat.completions.create({
      model, messages: user(cases.promptStream), stream: true, stream_options: { include_usage: true },
    }).withResponse();
    let text = '';
    let finish = null;
    let usage = null;
    let last = null;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        text += c.delta?.content ?? '';
        finish = c.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
      last = chunk;
    }
    assert.equal(text, cases.labelled[pos]);
    assert.equal(finish, 'stop');
    assert.equal(usage?.completion_tokens, 4);
    checkAIGC(last.AIGC, response.headers.get('aigc'));
  });
}

for (const stream of [false, true]) {
  test(`JSON mode carries only the implicit label (stream: ${stream})`, async () => {
    const params = { model, messages: user(cases.promptJSON), response_format: { type: 'json_object' } };
    const final = stream
      ? await client(labelKeys.both).chat.completions.stream(params).finalChatCompletion()
      : await client(labelKeys.both).chat.completions.create(params);
    assert.deepEqual(JSON.parse(final.choices[0].message.content), JSON.parse(cases.jsonAnswer));
  });
}

test('tool calls carry only the implicit label', async () => {
  const tools = [{ type: 'function', function: { name: cases.toolName, parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const final = await client(labelKeys.both).chat.completions
    .stream({ model, messages: user(cases.promptTools), tools }).finalChatCompletion();
  const choice = final.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.deepEqual(JSON.parse(choice.message.tool_calls[0].function.arguments), JSON.parse(cases.toolArgs));
  assert.ok(!(choice.message.content ?? '').includes('AI-generated'), `label in a tool-call answer: ${choice.message.content}`);
});

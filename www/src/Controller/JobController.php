<?php

namespace App\Controller;

use App\IdempotencyStore;
use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;

/**
 * The demo's scheduled jobs, run by the edge's coordinator (`[[vars.EDGE.jobs]]`), never by a
 * crontab: `POST /_jobs/{name}` (GET and PUT too, as a job's `method` may say) with an
 * `Idempotency-Key` header. Each key is executed at most once across every origin (see
 * IdempotencyStore); a repeated key answers the first execution's answer with status 200 and
 * `Idempotency-Replayed: true`.
 *
 * Like every request to this app, these only run when they come through the edge: with
 * EDGE_ORIGIN_KEY set, public/index.php refuses anything without a valid edge signature.
 *
 * Jobs:
 * - `append`: appends `<key> <origin> <unix time>` to the shared log (`jobs.log` in the store's
 *   directory) — the tests read it to count executions per key;
 * - `sleep`: sleeps `?ms=` milliseconds (at most 60000), then appends like `append` — a run
 *   longer than the job's interval, for the overlap tests;
 * - `fail`: fails with a 500 (and appends nothing), for the failed-run path.
 *
 * `GET /_jobs/log` returns the shared log as text.
 */
final class JobController
{
    /** The jobs this app knows. */
    public const JOBS = ['append', 'sleep', 'fail'];

    /** The longest `sleep`. */
    private const MAX_SLEEP_MS = 60000;

    public function run(Request $request, string $name): Response
    {
        if (!\in_array($name, self::JOBS, true)) {
            return self::json(['error' => "unknown job `$name`", 'jobs' => self::JOBS], 404);
        }
        $key = $request->headers->get('Idempotency-Key');
        if ($key === null || $key === '') {
            return self::json(['error' => 'the Idempotency-Key header is required (job@scheduled-time)'], 400);
        }
        if (\strlen($key) > 200 || !preg_match('/^[\x21-\x7e]+$/', $key)) {
            return self::json(['error' => 'the Idempotency-Key must be 1-200 visible ASCII characters'], 400);
        }

        $store = IdempotencyStore::fromEnvironment(\dirname(__DIR__, 2));
        $origin = PageController::originName();
        $started = microtime(true);
        if (!$store->claim($key, ['job' => $name, 'origin' => $origin, 'started' => $started], $previous)) {
            $answer = $store->answer($key);
            if ($answer === null) {
                // Claimed by a live process that has not answered yet: it must not run twice.
                $claim = $store->claimed($key) ?? [];

                return self::json([
                    'error' => 'this key is being executed by another process and has no answer yet; it is not run again',
                    'key' => $key,
                    'started_by' => $claim['origin'] ?? null,
                    'started' => $claim['started'] ?? null,
                ], 409, ['Idempotency-Status' => 'in-progress']);
            }

            return self::json($answer, 200, ['Idempotency-Replayed' => 'true']);
        }

        // $previous !== null: an earlier execution died unfinished (its lock went with it). The
        // jobs below check their own effect, so work it completed is not done twice.
        [$status, $result] = match ($name) {
            'append' => [200, ['line' => $this->append($store, $key, $origin)]],
            'sleep' => $this->sleep($request, $store, $key, $origin),
            'fail' => [500, ['error' => 'the demo job `fail` always fails']],
        };
        $answer = [
            'job' => $name,
            'key' => $key,
            'origin' => $origin,
            'status' => $status,
            'started' => $started,
            'finished' => microtime(true),
            'result' => $result,
        ] + ($previous !== null ? ['took_over_from' => $previous['origin'] ?? null] : []);
        $store->record($key, $answer);

        return self::json($answer, $status, ['Idempotency-Replayed' => 'false']);
    }

    /** The shared log of executed runs, one `<key> <origin> <time>` line each. */
    public function log(): Response
    {
        $file = IdempotencyStore::fromEnvironment(\dirname(__DIR__, 2))->dir() . '/jobs.log';
        $text = is_file($file) ? (string) file_get_contents($file) : '';

        return new Response($text, 200, [
            'Content-Type' => 'text/plain; charset=utf-8',
            'Cache-Control' => 'no-store',
            'X-Origin' => PageController::originName(),
        ]);
    }

    /** @return array{int, array<string, mixed>} */
    private function sleep(Request $request, IdempotencyStore $store, string $key, string $origin): array
    {
        $ms = min(self::MAX_SLEEP_MS, max(0, (int) $request->query->get('ms', 0)));
        usleep($ms * 1000);

        return [200, ['slept_ms' => $ms, 'line' => $this->append($store, $key, $origin)]];
    }

    /**
     * Appends the key's line to the shared log, once: under the log's lock, a line already there
     * for the key (written by an execution that died before recording its answer) is kept
     * instead — the job's effect and its check are one step, as in a database transaction.
     */
    private function append(IdempotencyStore $store, string $key, string $origin): string
    {
        $handle = fopen($store->dir() . '/jobs.log', 'a+');
        if ($handle === false) {
            throw new \RuntimeException('cannot open the shared job log');
        }
        try {
            flock($handle, LOCK_EX);
            rewind($handle);
            while (($existing = fgets($handle)) !== false) {
                if (str_starts_with($existing, $key . ' ')) {
                    return rtrim($existing, "\n");
                }
            }
            $line = sprintf('%s %s %.3f', $key, $origin, microtime(true));
            fwrite($handle, $line . "\n");
            fflush($handle);

            return $line;
        } finally {
            flock($handle, LOCK_UN);
            fclose($handle);
        }
    }

    /** @param array<string, string> $headers */
    private static function json(array $data, int $status, array $headers = []): JsonResponse
    {
        return new JsonResponse($data, $status, $headers + [
            'Cache-Control' => 'no-store',
            'X-Origin' => PageController::originName(),
        ]);
    }
}

<?php

namespace App;

/**
 * Executes each idempotency key at most once across every origin that shares the store.
 *
 * The edge's coordinator sends each job run with an `Idempotency-Key` (`job@scheduled-time`), and
 * when an origin fails before answering it sends the same key to another origin: that origin must
 * not run the job again if the first one finished it, and must not start it while the first one
 * is still running it — but it should run it when the first one died before finishing, or the run
 * would be lost. So the origins share one store, and a key is executed like a database
 * transaction: the executing process holds the key's lock from start to answer; a crash releases
 * the lock (as a database rolls back a dead session's transaction), so the next request with the
 * key takes the run over; a recorded answer is final and replayed to every later request.
 *
 * Demo only: the store is a directory shared by the origins (`APP_SHARED_DIR`, else
 * `var/shared` of the project, which the origins of one checkout share). A production setup keeps
 * this in its database (a row per key locked with `SELECT … FOR UPDATE` in the job's transaction,
 * the answer committed with the job's own writes) or Redis (`SET key … NX PX` as a lease).
 *
 * Layout, per key (files named by the key's SHA-256, so any key is a safe file name):
 *   keys/<sha256>.claim    the key's lock (`flock`, held by the executing process until the
 *                          answer is recorded; released by the kernel if that process dies) and
 *                          who started it, when, and who took it over
 *   keys/<sha256>.answer   the execution's answer (JSON), written aside and renamed into place,
 *                          so a reader sees all of it or nothing
 */
final class IdempotencyStore
{
    /** @var array<string, resource> locks held by this process, by key */
    private array $held = [];

    public function __construct(private string $dir)
    {
    }

    /** The store the origins share: APP_SHARED_DIR, else `<project>/var/shared`. */
    public static function fromEnvironment(string $projectDir): self
    {
        $dir = getenv('APP_SHARED_DIR');

        return new self(\is_string($dir) && $dir !== '' ? $dir : $projectDir . '/var/shared');
    }

    /** The shared directory (the demo jobs keep their log there too). */
    public function dir(): string
    {
        self::mkdir($this->dir);

        return $this->dir;
    }

    /**
     * Claims $key for this execution: true when this request must execute it (the first request
     * with the key, or the first after an execution that died unfinished, whose claim record is
     * returned in $previous), false when it must not (an answer is recorded, or a live process
     * is executing it). Keep the claim until record().
     *
     * @param array<string, mixed>      $meta     what the claim records (job, origin, start time)
     * @param array<string, mixed>|null $previous set to the dead execution's claim on a takeover
     */
    public function claim(string $key, array $meta, ?array &$previous = null): bool
    {
        $previous = null;
        $path = $this->path($key, 'claim');
        $handle = @fopen($path, 'c+');
        if ($handle === false) {
            throw new \RuntimeException("idempotency store: cannot open $path");
        }
        if (!flock($handle, LOCK_EX | LOCK_NB)) {
            fclose($handle); // a live process is executing it

            return false;
        }
        if ($this->answer($key) !== null) {
            flock($handle, LOCK_UN);
            fclose($handle);

            return false;
        }
        $before = stream_get_contents($handle);
        if (\is_string($before) && trim($before) !== '') {
            $decoded = json_decode($before, true);
            $previous = \is_array($decoded) ? $decoded : ['unreadable' => $before];
            $meta['took_over_from'] = $previous['origin'] ?? null;
        }
        ftruncate($handle, 0);
        rewind($handle);
        fwrite($handle, json_encode(['key' => $key] + $meta, JSON_UNESCAPED_SLASHES) . "\n");
        fflush($handle);
        $this->held[$key] = $handle;

        return true;
    }

    /**
     * Records the answer of the key's one execution (after claim() returned true).
     *
     * @param array<string, mixed> $answer
     */
    public function record(string $key, array $answer): void
    {
        $path = $this->path($key, 'answer');
        $tmp = $path . '.tmp-' . bin2hex(random_bytes(6));
        file_put_contents($tmp, json_encode($answer, JSON_UNESCAPED_SLASHES | JSON_PRETTY_PRINT) . "\n");
        rename($tmp, $path);
        if (isset($this->held[$key])) {
            flock($this->held[$key], LOCK_UN);
            fclose($this->held[$key]);
            unset($this->held[$key]);
        }
    }

    /**
     * The execution's answer, or null while it has none (still running, or the process running
     * it died before it finished).
     *
     * @return array<string, mixed>|null
     */
    public function answer(string $key): ?array
    {
        return $this->read($this->path($key, 'answer'));
    }

    /**
     * What the claim recorded (who started the key, when), or null when the key is unclaimed.
     *
     * @return array<string, mixed>|null
     */
    public function claimed(string $key): ?array
    {
        return $this->read($this->path($key, 'claim'));
    }

    /** @return array<string, mixed>|null */
    private function read(string $path): ?array
    {
        $text = is_file($path) ? file_get_contents($path) : false;
        $data = \is_string($text) ? json_decode($text, true) : null;

        return \is_array($data) ? $data : null;
    }

    private function path(string $key, string $kind): string
    {
        $dir = $this->dir . '/keys';
        self::mkdir($dir);

        return $dir . '/' . hash('sha256', $key) . '.' . $kind;
    }

    private static function mkdir(string $dir): void
    {
        // Several origins may create it at once: losing that race is fine.
        if (!is_dir($dir) && !@mkdir($dir, 0777, true) && !is_dir($dir)) {
            throw new \RuntimeException("idempotency store: cannot create $dir");
        }
    }
}

<?php

namespace App;

/**
 * Executes each idempotency key at most once across every origin that shares the store.
 *
 * The edge's coordinator sends each job run with an `Idempotency-Key` (`job@scheduled-time`), and
 * when an origin fails before answering it sends the same key to another origin: that origin must
 * not run the job again. So the origins share one store, and the first request to *claim* a key
 * runs it; every later request with the key gets the first answer back (a replay), or hears that
 * the run is still going (or died before it recorded an answer) — never a second execution.
 *
 * Demo only: the store is a directory shared by the origins (`APP_SHARED_DIR`, else
 * `var/shared` of the project, which the origins of one checkout share). A production setup keeps
 * this in its database (`INSERT … ON CONFLICT DO NOTHING` on a unique key column, answer in the
 * same row) or Redis (`SET key … NX`), which every application server reaches.
 *
 * Layout, per key (files named by the key's SHA-256, so any key is a safe file name):
 *   keys/<sha256>.claim    created with O_CREAT|O_EXCL (`fopen(…, 'x')`): whoever creates it
 *                          owns the key; holds the job, the origin and the start time
 *   keys/<sha256>.answer   the first execution's answer (JSON), written aside and renamed into
 *                          place, so a reader sees all of it or nothing
 */
final class IdempotencyStore
{
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
     * Claims $key for this execution: true for the first caller, ever, across every origin
     * sharing the store; false for every later one. Atomic: the exclusive create either makes the
     * file or fails because it exists.
     *
     * @param array<string, mixed> $meta what the claim records (job, origin, start time)
     */
    public function claim(string $key, array $meta): bool
    {
        $path = $this->path($key, 'claim');
        $handle = @fopen($path, 'x');
        if ($handle === false) {
            if (file_exists($path)) {
                return false;
            }
            throw new \RuntimeException("idempotency store: cannot create $path");
        }
        fwrite($handle, json_encode(['key' => $key] + $meta, JSON_UNESCAPED_SLASHES) . "\n");
        fclose($handle);

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
    }

    /**
     * The first execution's answer, or null while it has none (still running, or the origin
     * running it died before it finished).
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

<?php

namespace App;

use Symfony\Component\HttpFoundation\Request;

/**
 * Verifies that a request came through the edge worker: its X-Edge-Auth header carries an
 * HMAC-SHA256, keyed with the shared secret EDGE_ORIGIN_KEY, over a timestamp, a nonce, the
 * request line and the forwarded headers this app is about to trust (see
 * edge-core/src/origin_auth.rs for the construction; both sides pin the same test vector).
 * Only such requests may set X-Forwarded-*: the edge is then trusted as a proxy. A nonce is
 * accepted once (replays within the window are refused).
 */
final class EdgeAuth
{
    public const HEADER = 'X-Edge-Auth';

    /** The forwarded headers the signature covers, in order. */
    public const SIGNED_HEADERS = ['X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'X-Forwarded-Port', 'Forwarded'];

    public function __construct(private string $key, private ?string $nonceDir = null, private int $window = 60)
    {
    }

    /** The key from the environment, or null when the app runs without an edge in front. */
    public static function fromEnvironment(string $varDir): ?self
    {
        $key = getenv('EDGE_ORIGIN_KEY');

        return \is_string($key) && $key !== '' ? new self($key, $varDir . '/edge-nonces') : null;
    }

    /**
     * The header value for a request. $forwarded holds the values of SIGNED_HEADERS in order
     * (null: not sent).
     */
    public function sign(int $time, string $nonce, string $method, string $host, string $pathAndQuery, array $forwarded): string
    {
        $data = "v2\n$time\n$nonce\n$method\n$host\n$pathAndQuery";
        foreach ($forwarded as $value) {
            $data .= "\n" . ($value ?? '');
        }
        $mac = hash_hmac('sha256', $data, $this->key, true);

        return "v2;t=$time;n=$nonce;sig=" . rtrim(strtr(base64_encode($mac), '+/', '-_'), '=');
    }

    /**
     * Whether the request carries a valid, fresh, unused signature. Everything is taken as
     * received: the raw method (not Symfony's getMethod(), which honours X-HTTP-Method-Override
     * and upper-cases), the Host and request URI the edge sent to, the forwarded headers.
     */
    public function verify(Request $request, int $now): bool
    {
        $header = (string) $request->headers->get(self::HEADER, '');
        if (!preg_match('/^v2;t=(\d{1,12});n=([A-Za-z0-9_-]{8,64});sig=[A-Za-z0-9_-]+$/', $header, $m)) {
            return false;
        }
        [, $time, $nonce] = $m;
        if (abs($now - (int) $time) > $this->window) {
            return false;
        }
        $forwarded = array_map(fn (string $h) => $request->headers->get($h), self::SIGNED_HEADERS);
        $expected = $this->sign((int) $time, $nonce, (string) $request->server->get('REQUEST_METHOD', ''),
            (string) $request->server->get('HTTP_HOST', ''), (string) $request->server->get('REQUEST_URI', '/'), $forwarded);

        return hash_equals($expected, $header) && $this->firstUse($nonce, (int) $time);
    }

    /** Records the nonce; false when it was seen before (a replayed header). */
    private function firstUse(string $nonce, int $time): bool
    {
        if ($this->nonceDir === null) {
            return true;
        }
        $bucket = $this->nonceDir . '/' . intdiv($time, $this->window);
        if (!is_dir($bucket)) {
            @mkdir($bucket, 0777, true);
            $this->forgetOldBuckets(intdiv($time, $this->window));
        }
        $handle = @fopen($bucket . '/' . $nonce, 'x');
        if ($handle === false) {
            return false;
        }
        fclose($handle);

        return true;
    }

    /** Nonces older than two windows can no longer pass the time check: drop them. */
    private function forgetOldBuckets(int $current): void
    {
        foreach (glob($this->nonceDir . '/*', GLOB_ONLYDIR) ?: [] as $dir) {
            if ((int) basename($dir) < $current - 2) {
                array_map('unlink', glob($dir . '/*') ?: []);
                @rmdir($dir);
            }
        }
    }
}

<?php
// Real-consumer checks of asset-builder's output: Symfony's own JsonManifestVersionStrategy (from
// Debian's php-symfony-asset) resolves every manifest key in strict mode, and the www app, served
// by PHP's built-in server, references only URLs that exist in the output directory.
//
// usage: php tests/symfony/check.php WWW_DIR      (WWW_DIR/build must hold a fresh build)
// Prints one line per check and "N passed, N failed"; exits non-zero on any failure.

require_once '/usr/share/php/Symfony/Component/Asset/autoload.php';

use Symfony\Component\Asset\Exception\AssetNotFoundException;
use Symfony\Component\Asset\VersionStrategy\JsonManifestVersionStrategy;

$www = realpath($argv[1] ?? '') ?: exit("usage: check.php WWW_DIR\n");
$out = "$www/build";
$passed = 0;
$failed = 0;
function check(bool $ok, string $what): void
{
    global $passed, $failed;
    $ok ? $passed++ : $failed++;
    echo ($ok ? 'ok   ' : 'FAIL ') . $what . "\n";
}

// 1. Every key resolves through Symfony, in strict mode, to a file that exists.
$manifest = json_decode(file_get_contents("$out/manifest.json"), true, 512, JSON_THROW_ON_ERROR);
check(count($manifest) > 0, 'manifest.json has entries');
$strategy = new JsonManifestVersionStrategy("$out/manifest.json", null, true);
$allResolve = true;
foreach ($manifest as $key => $url) {
    $resolved = $strategy->applyVersion($key);
    $file = $out . rawurldecode(parse_url($resolved, PHP_URL_PATH));
    if ($resolved !== $url || !is_file($file)) {
        $allResolve = false;
        echo "     $key -> $resolved (file " . (is_file($file) ? 'exists' : 'missing') . ")\n";
    }
}
check($allResolve, 'JsonManifestVersionStrategy (strict) resolves all ' . count($manifest) . ' keys to files in OUT');
try {
    $strategy->applyVersion('css/not-built.css');
    check(false, 'strict mode rejects an unknown asset');
} catch (AssetNotFoundException $e) {
    check(true, 'strict mode rejects an unknown asset');
}

// 2. The app, served for real, references only built URLs.
$port = 20000 + getmypid() % 20000;
$server = proc_open(
    [PHP_BINARY, '-S', "127.0.0.1:$port", '-t', "$www/public", "$www/public/index.php"],
    [0 => ['pipe', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']],
    $pipes,
    null,
    ['APP_ENV' => 'prod', 'APP_VAR_DIR' => sys_get_temp_dir() . "/www-check-$port"] + getenv()
);
$fetch = static function (string $path) use ($port): array {
    $ctx = stream_context_create(['http' => ['ignore_errors' => true, 'timeout' => 10]]);
    for ($try = 0; $try < 50; $try++) {
        $body = @file_get_contents("http://127.0.0.1:$port$path", false, $ctx);
        if ($body !== false) {
            return [(int) explode(' ', $http_response_header[0])[1], $body];
        }
        usleep(100000);
    }
    return [0, ''];
};
try {
    $values = array_flip(array_values($manifest));
    foreach (['/', '/about'] as $page) {
        [$status, $html] = $fetch($page);
        check($status === 200, "GET $page renders (status $status)");
        preg_match_all('/(?:src|href)="(\/assets\/[^"]+)"/', $html, $m);
        $urls = array_unique($m[1]);
        check(count($urls) >= 3, "$page references " . count($urls) . ' built assets through asset()');
        $bad = array_filter($urls, fn ($u) => !isset($values[$u]) || !is_file($out . rawurldecode($u)));
        check($bad === [], "$page references only URLs that exist in OUT" . ($bad ? ': ' . implode(', ', $bad) : ''));
        foreach ($urls as $u) {
            [$s, $body] = $fetch($u);
            check($s === 200, "GET $u from $page is served (status $s)");
            // What the browser fetches next: relative url()/@import/import references inside it.
            preg_match_all('/url\(\s*["\']?([^"\')]+)|@import\s+["\']([^"\']+)|(?:from|import)\s*\(?\s*["\'](\.{1,2}\/[^"\']+)/', $body, $r);
            foreach (array_filter(array_merge($r[1], $r[2], $r[3])) as $ref) {
                if (preg_match('#^(data:|[a-z]+:|//|/|\#)#i', $ref)) {
                    continue;
                }
                $target = preg_replace('/[?#].*$/', '', dirname($u) . '/' . $ref);
                while (preg_match('#/[^/]+/\.\./#', $target)) {
                    $target = preg_replace('#/[^/]+/\.\./#', '/', $target, 1);
                }
                $target = str_replace('/./', '/', $target);
                check(isset($values[$target]) && is_file($out . rawurldecode($target)), "  $u -> $ref exists in OUT");
            }
        }
    }
} finally {
    proc_terminate($server);
    proc_close($server);
}

// 3. The origin's verifier (www/src/EdgeAuth.php) agrees with the edge's signer: the test
//    vector pinned in edge-core/src/origin_auth.rs, read from there so the two cannot drift.
require_once "$www/src/EdgeAuth.php";
preg_match('/const VECTOR: &str = "([^"]+)";/', file_get_contents(dirname($www) . '/edge-core/src/origin_auth.rs'), $v);
$auth = new App\EdgeAuth('k');
check(isset($v[1]) && $auth->sign(1, 'n', 'GET', 'h', '/', ['192.0.2.1', 'https', 'shop.test', '443', null]) === $v[1],
    'EdgeAuth signs the shared test vector exactly as the edge does');

echo "$passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);

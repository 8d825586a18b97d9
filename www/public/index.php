<?php
// Front controller. Under PHP's built-in server it also serves the built assets from ../build
// (the edge worker does that in front of the origins; this keeps the app usable on its own).

use App\Kernel;
use Symfony\Component\HttpFoundation\Request;

if (PHP_SAPI === 'cli-server') {
    $path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');
    if (str_starts_with($path, '/assets/') && !str_contains($path, '..')) {
        $file = dirname(__DIR__) . '/build' . $path;
        if (is_file($file)) {
            $types = ['css' => 'text/css', 'js' => 'text/javascript', 'svg' => 'image/svg+xml',
                'woff' => 'font/woff', 'ttf' => 'font/ttf', 'png' => 'image/png', 'map' => 'application/json'];
            header('Content-Type: ' . ($types[pathinfo($file, PATHINFO_EXTENSION)] ?? 'application/octet-stream'));
            readfile($file);
            return true;
        }
    }
}

require dirname(__DIR__) . '/src/autoload.php';

$request = Request::createFromGlobals();
// Behind the edge (EDGE_ORIGIN_KEY set): refuse anything that did not come through it, and trust
// the edge's X-Forwarded-* headers, and only the edge's.
$varDir = getenv('APP_VAR_DIR');
$edge = App\EdgeAuth::fromEnvironment(\is_string($varDir) && $varDir !== '' ? $varDir : dirname(__DIR__) . '/var');
if ($edge !== null) {
    if (!$edge->verify($request, time())) {
        http_response_code(403);
        header('Content-Type: text/plain; charset=utf-8');
        echo "403 Forbidden: this origin only answers requests that come through the edge\n";
        return;
    }
    Request::setTrustedProxies([$request->server->get('REMOTE_ADDR')], Request::HEADER_X_FORWARDED_FOR
        | Request::HEADER_X_FORWARDED_HOST | Request::HEADER_X_FORWARDED_PROTO | Request::HEADER_X_FORWARDED_PORT);
}

$kernel = new Kernel($_SERVER['APP_ENV'] ?? 'prod', (bool) ($_SERVER['APP_DEBUG'] ?? false));
$response = $kernel->handle($request);
// Every answer says which origin gave it (error pages too), so the demo and the tests can see
// the edge's routing.
if (!$response->headers->has('X-Origin')) {
    $response->headers->set('X-Origin', App\Controller\PageController::originName());
}
$response->send();
$kernel->terminate($request, $response);

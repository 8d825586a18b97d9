<?php
// No composer here: Symfony 5.4 comes from Debian's packages, whose autoloaders live under
// /usr/share/php. This file loads them and maps the App\ namespace to src/.
require_once '/usr/share/php/Symfony/Bundle/FrameworkBundle/autoload.php';
require_once '/usr/share/php/Symfony/Bundle/TwigBundle/autoload.php';
require_once '/usr/share/php/Symfony/Component/Asset/autoload.php';
require_once '/usr/share/php/Symfony/Component/Yaml/autoload.php';

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'App\\')) {
        $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, 4)) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});

-- Run once by the mysql image (docker-compose.yml) when its data volume is empty, as root, after it has created
-- MYSQL_DATABASE and MYSQL_USER. Lets the application user own every database named gateway*, as
-- scripts/services does locally: the tests create and drop gateway_test.
-- Works on MySQL 8.4 (which warns that wildcards in database grants are deprecated) and MariaDB 10.11.
GRANT ALL PRIVILEGES ON `gateway%`.* TO 'gateway'@'%';

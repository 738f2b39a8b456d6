import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app.config';
import { dataSourceOptions } from './database.options';
import { Database } from './database.service';
import { migrateUnderLock } from './migration.lock';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig) => ({
        ...(await dataSourceOptions(config)),
        retryAttempts: 0,
      }),
      // `migrationsRun` says whether to migrate at start; TypeORM's own run of them takes no
      // lock, so it is done here, under one, once the connection is up.
      dataSourceFactory: async (options) => {
        if (options === undefined) throw new Error('no database options');
        const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
        if (!options.migrationsRun) return dataSource;
        try {
          await migrateUnderLock(dataSource);
        } catch (error) {
          await dataSource.destroy();
          throw error;
        }
        return dataSource;
      },
    }),
  ],
  providers: [Database],
  exports: [Database],
})
export class DatabaseModule {}
